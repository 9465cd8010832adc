import DZSystem
import Foundation

/// The system calls a process made on a spool, from an `strace -f -y` log: each line that names a path under the
/// spool (as an argument, or as the path of a descriptor, which `-y` prints), counted by call. What an NFS client
/// turns into metadata operations on the server (LOOKUP, OPEN, GETATTR, CREATE, RENAME, LINK, REMOVE, READDIR,
/// SETATTR, COMMIT, and READ/WRITE for the data).
public struct SpoolSyscalls: Sendable {
    /// Calls per name (`openat`, `renameat2`, `getdents64`, ...).
    public let counts: [String: Int]

    public init(counts: [String: Int]) { self.counts = counts }

    /// Reads an strace log written with `-f -y -o FILE`; only the calls that touch `spool` count.
    public init(log: String, spool: String) {
        var counts: [String: Int] = [:]
        for line in log.split(separator: "\n") where line.contains(spool) {
            // "<pid> <call>(...": skip the pid (strace pads it to five columns: "1169  rename(...") and resumed
            // calls (counted where they started).
            var text = line.drop { $0 != " " }.drop { $0 == " " }
            if text.hasPrefix("<... ") { continue }
            text = text.prefix { $0 != "(" }
            guard !text.isEmpty, text.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { continue }
            counts[String(text), default: 0] += 1
        }
        self.counts = counts
    }

    public var total: Int { counts.values.reduce(0, +) }

    /// The calls that are data, not metadata: reading and writing a file's contents.
    public static let dataCalls: Set<String> = ["read", "pread64", "readv", "write", "pwrite64", "writev"]

    /// Calls that are metadata operations on a network file system.
    public var metadata: [String: Int] { counts.filter { !Self.dataCalls.contains($0.key) && $0.key != "close" } }

    /// `self` less `baseline`, per call (never below zero).
    public func subtracting(_ baseline: SpoolSyscalls) -> SpoolSyscalls {
        var result = counts
        for (name, count) in baseline.counts { result[name] = max(0, (result[name] ?? 0) - count) }
        return SpoolSyscalls(counts: result.filter { $0.value > 0 })
    }
}
