import DZSystem

/// A process's metrics file for node_exporter's textfile collector (`--collector.textfile.directory`): the
/// exposition written to a temporary name beside it and renamed over it, so that a scrape never reads half a
/// file. The temporary name starts with a dot and does not end in `.prom`: the collector ignores it.
public struct MetricsFile: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// Writes `text` in place of the file (mode 0644: metrics hold no secret, and the collector runs as another
    /// user). Errors are thrown for the caller to log; the old file stays whole.
    public func write(_ text: String) throws(Errno) {
        try FileIO.replace(path, bytes: Array(text.utf8), mode: 0o644, sync: false)
    }

    /// Why `path` cannot be a metrics file (empty, a directory, or in a directory that does not exist), or nil.
    public static func problem(_ path: String) -> String? {
        guard !path.isEmpty, !path.hasSuffix("/") else { return "\"\(path)\" names no file" }
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        guard let status = try? FileSystem.status(directory), status.isDirectory else {
            return "\(directory) is not a directory"
        }
        if let target = try? FileSystem.status(path), target.isDirectory { return "\(path) is a directory" }
        return nil
    }

    /// The path `--metrics-file` or `DZ_METRICS_FILE` gives, if either does.
    public static func path(flag: String?, environment: [String: String]) -> String? {
        let value = flag ?? environment["DZ_METRICS_FILE"]
        guard let value, !value.isEmpty else { return nil }
        return value
    }
}
