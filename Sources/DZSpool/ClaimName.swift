import Synchronization

/// The claims this process has made so far: each claim name gets the next number.
private let claimSerials = Atomic<Int>(0)

/// The name of a claimed task in `cur/`: `<id>@<host-id>@<pid>@<lease-seconds>@<serial>.json`.
///
/// The name says who holds the claim and how long its lease lives without renewal, so that any other agent can
/// judge it without asking the claimer. The serial numbers one process's claims: a claimer that is told its rename
/// failed (NFS may say so after it succeeded) looks for its own target name, and that name must be one that no
/// other claim of the same process (another worker trying the same file at the same moment) can have made.
/// A staged result beside it adds `.result` to the stem. Names without a serial (written by earlier
/// versions of dz) are still read.
public struct ClaimName: Sendable, Hashable, CustomStringConvertible {
    public let id: TaskID
    public let host: HostID
    public let pid: Int32
    /// Seconds the claim lives without renewal.
    public let leaseSeconds: Int
    /// This claim's number among the claims of its process; `nil` in names written before serials existed.
    public let serial: Int?

    public init(id: TaskID, host: HostID, pid: Int32, leaseSeconds: Int, serial: Int?) {
        self.id = id
        self.host = host
        self.pid = pid
        self.leaseSeconds = max(1, leaseSeconds)
        self.serial = serial
    }

    /// A new claim name of this process: the next serial.
    public static func next(id: TaskID, host: HostID, pid: Int32, leaseSeconds: Int) -> ClaimName {
        let serial = claimSerials.add(1, ordering: .relaxed).newValue
        return ClaimName(id: id, host: host, pid: pid, leaseSeconds: leaseSeconds, serial: serial)
    }

    /// Reads a `cur/` file name; `nil` for anything else (staged results, strays).
    public init?(fileName: String) {
        guard fileName.hasSuffix(".json") else { return nil }
        let stem = fileName.dropLast(5)
        let parts = stem.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 4 || parts.count == 5,
              let id = try? TaskID(String(parts[0])),
              let host = try? HostID(String(parts[1])),
              let pid = Int32(parts[2]), pid > 0,
              let lease = Int(parts[3]), lease > 0
        else { return nil }
        var serial: Int?
        if parts.count == 5 {
            guard let number = Int(parts[4]), number > 0, String(number) == parts[4] else { return nil }
            serial = number
        }
        self.init(id: id, host: host, pid: pid, leaseSeconds: lease, serial: serial)
    }

    public var stem: String {
        let base = "\(id.rawValue)@\(host.rawValue)@\(pid)@\(leaseSeconds)"
        return serial.map { "\(base)@\($0)" } ?? base
    }
    public var fileName: String { stem + ".json" }
    /// The name of the result staged beside this claim.
    public var stagedResultName: String { stem + ".result" }
    public var description: String { fileName }
}
