import DZSpool
import DZTasks

/// A URL prefix nginx serves from a directory of the bundle instead of proxying it: `{"url": "/static/", "path":
/// "static"}` serves `/static/css/site.css` from `<bundle>/static/css/site.css`.
///
/// The URL is `/[A-Za-z0-9._~/-]*/`: it starts and ends with a slash (so that `alias` never joins a name to a
/// directory without one), is not `/` itself (that is the app's), and has no empty, `.` or `..` segment. The path
/// is relative to the bundle's top, of the same bytes, with no `.` or `..` component and not the top itself: only
/// what is meant to be public leaves the bundle.
public struct StaticMapping: Sendable, Hashable {
    /// The URL prefix, with its leading and trailing slash.
    public let url: String
    /// The directory in the bundle, without leading or trailing slash: `static`, `public/assets`.
    public let path: String

    /// Checks both; a trailing slash of `path` is dropped.
    public init(url: String, path: String) throws(ProxyError) {
        try Self.checkURL(url)
        var trimmed = Substring(path)
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        let components = trimmed.split(separator: "/", omittingEmptySubsequences: false)
        guard !trimmed.isEmpty, trimmed.utf8.count <= 200, !trimmed.hasPrefix("/"),
              trimmed.utf8.allSatisfy(NginxToken.isURLByte),
              components.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." })
        else {
            throw .invalid(field: "static", "path \"\(NginxToken.printable(path))\" must be a directory inside the "
                + "bundle such as static: relative, no . or .. components, letters, digits or ._~/-")
        }
        self.url = url
        self.path = String(trimmed)
    }

    /// Checks a URL prefix by the rule above (`MEDIA_URL` too).
    static func checkURL(_ url: String, field: String = "static") throws(ProxyError) {
        guard url.utf8.count >= 3, url.utf8.count <= 200, url.hasPrefix("/"), url.hasSuffix("/"),
              url.utf8.allSatisfy(NginxToken.isURLByte)
        else {
            throw .invalid(field: field, "url \"\(NginxToken.printable(url))\" must look like /static/: a slash, "
                + "letters, digits or ._~/- and a final slash")
        }
        let segments = url.dropFirst().dropLast().split(separator: "/", omittingEmptySubsequences: false)
        guard segments.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }) else {
            throw .invalid(field: field, "url \"\(NginxToken.printable(url))\" has an empty, . or .. segment")
        }
    }

    /// The mappings of a `proxy_update` task, each URL at most once.
    static func list(_ entries: [ProxyUpdateTask.StaticFiles]) throws(ProxyError) -> [StaticMapping] {
        var mappings: [StaticMapping] = []
        for entry in entries {
            let mapping = try StaticMapping(url: entry.url, path: entry.path)
            guard !mappings.contains(where: { $0.url == mapping.url }) else {
                throw .invalid(field: "static", "url \(mapping.url) is mapped twice")
            }
            mappings.append(mapping)
        }
        return mappings
    }
}
