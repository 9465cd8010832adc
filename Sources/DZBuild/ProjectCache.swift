import DZBundle
import DZSource
import DZSpool
import DZSystem

/// A project's own caches on the build host, never shared with another project: what one project's build code
/// wrote (a `.pth` file, a patched package, a poisoned wheel) can only ever reach that same project's builds.
///
/// ```
/// <data>/caches/<project>/              the agent's, 0700
///     pip/                              pip's HTTP and wheel cache (the build user's); bound at /dz/pip-cache
///     venvs/                            the agent's
///         <sha256>/                     a virtualenv (the build user's), reused without pip by the project's
///                                       builds whose Python, requirements and path file hash the same
///         <sha256>.complete             the agent's mark that it was fully made; its time is its last use
///         <sha256>.building-<bundle>/   one being made (bound at /dz/venv), renamed when pip succeeded
/// ```
///
/// The project's code gets only `pip/` and the virtualenv being made writable, and only while pip runs; a finished
/// virtualenv is only ever bound read-only. The agent renames and removes entries of `venvs/`, a directory no
/// sandbox ever sees. The newest `keptVirtualenvs` virtualenvs are kept; older ones are removed after a build.
struct ProjectCache: Sendable {
    let root: String
    var keptVirtualenvs = 3

    init(workspace: Workspace, project: ProjectID) {
        root = workspace.root + "/caches/" + project.rawValue
    }

    var pip: String { root + "/pip" }
    var venvs: String { root + "/venvs" }
    func venv(_ key: String) -> String { venvs + "/" + key }
    func marker(_ key: String) -> String { venvs + "/" + key + ".complete" }

    /// Creates the project's cache directories; returns the ones just made (which a root agent gives to the build
    /// user: an existing `pip/` is the build user's already).
    func prepare() throws(BuildError) -> [String] {
        var made: [String] = []
        do {
            try Workspace.makePrivateDirectory(root)
            try Workspace.makePrivateDirectory(venvs)
            if !FileSystem.exists(pip) {
                try Workspace.makePrivateDirectory(pip)
                made.append(pip)
            }
        } catch {
            throw BuildError("filesystem", "cannot create the cache of \(root): \(error)")
        }
        return made
    }

    /// Whether the virtualenv `key` was made whole; marks it used now.
    func reuse(_ key: String) -> Bool {
        guard (try? FileSystem.linkStatus(marker(key)))?.isRegular == true,
              (try? FileSystem.linkStatus(venv(key)))?.isDirectory == true
        else { return false }
        try? FileSystem.touch(marker(key))
        return true
    }

    /// Keeps the virtualenv made at `building` as `key`, replacing one of that name.
    func keep(_ building: String, as key: String) throws(BuildError) {
        try? FileSystem.unlink(marker(key))
        SourceTree.remove(venv(key))
        do {
            try FileSystem.rename(building, venv(key))
            try FileIO.create(marker(key), bytes: [], mode: 0o600, sync: false)
        } catch {
            throw BuildError("filesystem", "cannot keep the virtualenv \(venv(key)): \(error)")
        }
    }

    /// Removes all but the `keptVirtualenvs` most recently used virtualenvs, and what failed builds left.
    func prune(keeping current: String) {
        guard let names = try? FileSystem.names(in: venvs) else { return }
        let used = names.filter { $0.hasSuffix(".complete") }.map { String($0.dropLast(".complete".count)) }
            .compactMap { key in (try? FileSystem.linkStatus(marker(key))).map { (key, $0.modified) } }
            .sorted { $0.1 > $1.1 }.map(\.0)
        let kept = Set([current] + used.prefix(keptVirtualenvs))
        for name in names {
            let key = name.hasSuffix(".complete") ? String(name.dropLast(".complete".count)) : name
            if kept.contains(key) { continue }
            // A virtualenv being made is another build's until it is a day old (an agent that died left it).
            if name.contains(".building-"),
               (try? FileSystem.linkStatus(venvs + "/" + name)).map({ Timestamp.now() - $0.modified < 86_400 }) != false
            { continue }
            try? FileSystem.unlink(marker(key))
            SourceTree.remove(venvs + "/" + name)
        }
    }

    /// Whether pip's cache holds more than `maxBytes` or `maxEntries` names: then the build empties it first (in
    /// the sandbox, as the build user: another build of the same project may be writing into it).
    func pipIsOverfull(maxBytes: Int64, maxEntries: Int) -> Bool {
        TreeSize.measure([pip], stopAfter: maxBytes, entries: maxEntries).exceeds(maxBytes: maxBytes,
                                                                                 maxEntries: maxEntries)
    }
}
