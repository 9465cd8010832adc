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
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let temporary = directory + "/." + base + ".\(Host.pid).tmp"
        try? FileSystem.unlink(temporary)
        try FileIO.create(temporary, bytes: Array(text.utf8), mode: 0o644, exactMode: true, sync: false)
        do { try FileSystem.rename(temporary, path) } catch {
            try? FileSystem.unlink(temporary)
            throw error
        }
    }

    /// The path `--metrics-file` or `DZ_METRICS_FILE` gives, if either does.
    public static func path(flag: String?, environment: [String: String]) -> String? {
        let value = flag ?? environment["DZ_METRICS_FILE"]
        guard let value, !value.isEmpty else { return nil }
        return value
    }
}
