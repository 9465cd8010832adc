/// What a key confined to one project's repository may run over ssh: the forced command of `authorized_keys`
/// (`command="dz git shell --project P",restrict ...`) reads the command the client asked for
/// (`SSH_ORIGINAL_COMMAND`) and allows only git's push and fetch of that project's repository, nothing else: no
/// shell, no other repository, no options.
public enum PushShell {
    /// The git programs a key may run: push (`git-receive-pack`) and fetch or clone (`git-upload-pack`).
    public static let services: Set<String> = ["git-receive-pack", "git-upload-pack"]

    /// The git program `original` asks for, when it asks for push or fetch of `project`'s repository and nothing
    /// else: `git-receive-pack 'shop.git'`, with or without quotes, a leading `/` or `~/`, the `.git`, or
    /// `git receive-pack` in two words.
    public static func service(for original: String?, project: String) throws(ClientError) -> String {
        let hint = "this key may only push to or fetch from \(project).git (git push <host>:\(project).git)"
        guard let original, !original.isEmpty else { throw .usage("no shell here: \(hint)") }
        var words = original.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        if words.count == 3, words[0] == "git" { words = ["git-" + words[1], words[2]] }
        guard words.count == 2, services.contains(words[0]) else { throw .usage("refused \"\(original.prefix(200))\": \(hint)") }
        var path = words[1]
        if path.count >= 2, let first = path.first, first == "'" || first == "\"", path.last == first {
            path = String(path.dropFirst().dropLast())
        }
        if path.hasPrefix("~/") { path.removeFirst(2) } else if path.hasPrefix("/") { path.removeFirst() }
        guard path == project || path == project + ".git" || path == project + ".git/" else {
            throw .usage("refused \"\(original.prefix(200))\": \(hint)")
        }
        return words[0]
    }
}
