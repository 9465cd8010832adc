import DZSpool
import DZSystem

/// The audit log lines of one or more spool directories (every host's `log/<host-id>/<day>.log`), parsed, for
/// tests that count events across hosts.
public struct AuditTrail: Sendable {
    /// One line: its fields, the first of each key.
    public struct Entry: Sendable, CustomStringConvertible {
        public let line: String
        public let fields: [String: String]
        public subscript(key: String) -> String? { fields[key] }
        public var event: String { fields["event"] ?? "" }
        public var description: String { line }
    }

    public let entries: [Entry]

    /// Reads every audit log under each of `spools`.
    public init(spools: [String]) {
        var entries: [Entry] = []
        for spool in spools {
            let logRoot = spool + "/log"
            for host in ((try? FileSystem.names(in: logRoot)) ?? []).sorted() {
                let dir = logRoot + "/" + host
                for file in ((try? FileSystem.names(in: dir)) ?? []).sorted() where file.hasSuffix(".log") {
                    guard let bytes = try? FileIO.readAll(dir + "/" + file) else { continue }
                    for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
                        var fields: [String: String] = [:]
                        for (key, value) in Logfmt.parse(line) where fields[key] == nil { fields[key] = value }
                        entries.append(Entry(line: String(line), fields: fields))
                    }
                }
            }
        }
        self.entries = entries
    }

    /// The entries of `event`, optionally only those of `queue`.
    public func events(_ event: String, queue: String? = nil) -> [Entry] {
        entries.filter { $0.event == event && (queue == nil || $0["queue"] == queue) }
    }

    /// How many times each task id appears in `event` (of `queue`).
    public func counts(_ event: String, queue: String? = nil) -> [String: Int] {
        var counts: [String: Int] = [:]
        for entry in events(event, queue: queue) { if let task = entry["task"] { counts[task, default: 0] += 1 } }
        return counts
    }
}
