/// A repository URL the build host may fetch from: `file://`, plain absolute paths, `git://`, `http(s)://`,
/// `ssh://` and scp-like `user@host:path`. Anything else (git's `ext::` transport runs commands) is refused, as
/// are URLs that could be read as options.
public struct SourceURL: Sendable, Equatable, CustomStringConvertible {
    public let text: String

    public static let allowedSchemes = ["file", "git", "http", "https", "ssh"]

    public init(_ text: String) throws(CheckoutError) {
        guard !text.isEmpty, text.utf8.count <= 2048 else { throw .badURL(text, "empty or longer than 2048 bytes") }
        guard !text.hasPrefix("-") else { throw .badURL(text, "a URL may not start with '-'") }
        guard !text.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7F }) else {
            throw .badURL(text, "spaces and control characters are not allowed")
        }
        if let schemeEnd = text.range(of: "://") {
            let scheme = text[..<schemeEnd.lowerBound].lowercased()
            guard SourceURL.allowedSchemes.contains(scheme) else {
                throw .badURL(text, "scheme \(scheme) is not allowed (use \(SourceURL.allowedSchemes.joined(separator: ", ")))")
            }
            guard !text[schemeEnd.upperBound...].isEmpty else { throw .badURL(text, "nothing after ://") }
        } else if text.hasPrefix("/") {
            // a plain path on the build host
        } else if text.contains("::") {
            throw .badURL(text, "transport helpers (x::address) are not allowed")
        } else if let colon = text.firstIndex(of: ":"), !text[..<colon].contains("/"), colon != text.startIndex {
            // scp-like user@host:path
        } else {
            throw .badURL(text, "use an absolute path or a URL with one of \(SourceURL.allowedSchemes.joined(separator: ", "))")
        }
        if let schemeEnd = text.range(of: "://"), let at = text[schemeEnd.upperBound...].firstIndex(of: "@"),
           text[schemeEnd.upperBound..<at].contains(":")
        {
            throw .badURL(text, "a password or token in the URL would be kept in task files and the zoomdb: "
                          + "give the build host an ssh key or a git credential helper instead")
        }
        self.text = text
    }

    /// Whether the repository is on the build host's own file system (`file://` or a plain path): allowed only
    /// where the agent says so (`dz agent --allow-local-sources`), since it lets whoever submits a job read any
    /// repository the agent's user can.
    public var isLocal: Bool { text.hasPrefix("/") || text.lowercased().hasPrefix("file://") }

    /// The URL without any password or token (`https://user:secret@host/x` -> `https://user:***@host/x`), for
    /// logs and messages.
    public var redacted: String { SourceURL.redact(text) }

    public var description: String { redacted }

    static func redact(_ text: String) -> String {
        guard let schemeEnd = text.range(of: "://"), let at = text[schemeEnd.upperBound...].firstIndex(of: "@") else {
            return text
        }
        let userinfo = text[schemeEnd.upperBound..<at]
        guard let colon = userinfo.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }

    /// The last path component without `.git`: the original's title guess.
    public var repositoryName: String {
        var trimmed = text
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        let last = trimmed.split(whereSeparator: { $0 == "/" || $0 == ":" }).last.map(String.init) ?? trimmed
        return last.hasSuffix(".git") ? String(last.dropLast(4)) : last
    }
}
