/// The name of a claimed task in `cur/`: `<id>@<host-id>@<pid>@<lease-seconds>.json`.
///
/// The name says who holds the claim and how long its lease lives without renewal, so that any other agent can
/// judge it without asking the claimer. A staged result beside it adds `.result` to the stem.
public struct ClaimName: Sendable, Hashable, CustomStringConvertible {
    public let id: TaskID
    public let host: HostID
    public let pid: Int32
    /// Seconds the claim lives without renewal.
    public let leaseSeconds: Int

    public init(id: TaskID, host: HostID, pid: Int32, leaseSeconds: Int) {
        self.id = id
        self.host = host
        self.pid = pid
        self.leaseSeconds = max(1, leaseSeconds)
    }

    /// Reads a `cur/` file name; `nil` for anything else (staged results, strays).
    public init?(fileName: String) {
        guard fileName.hasSuffix(".json") else { return nil }
        let stem = fileName.dropLast(5)
        let parts = stem.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 4,
              let id = try? TaskID(String(parts[0])),
              let host = try? HostID(String(parts[1])),
              let pid = Int32(parts[2]), pid > 0,
              let lease = Int(parts[3]), lease > 0
        else { return nil }
        self.init(id: id, host: host, pid: pid, leaseSeconds: lease)
    }

    public var stem: String { "\(id.rawValue)@\(host.rawValue)@\(pid)@\(leaseSeconds)" }
    public var fileName: String { stem + ".json" }
    /// The name of the result staged beside this claim.
    public var stagedResultName: String { stem + ".result" }
    public var description: String { fileName }
}
