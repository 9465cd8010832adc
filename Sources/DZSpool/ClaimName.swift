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
    /// The stem as read from a file name, kept because a lease too large for an `Int` does not print back the same.
    private let readStem: String?

    public init(id: TaskID, host: HostID, pid: Int32, leaseSeconds: Int, serial: Int?) {
        self.id = id
        self.host = host
        self.pid = pid
        self.leaseSeconds = max(1, leaseSeconds)
        self.serial = serial
        readStem = nil
    }

    /// A new claim name of this process: the next serial.
    public static func next(id: TaskID, host: HostID, pid: Int32, leaseSeconds: Int) -> ClaimName {
        let serial = claimSerials.add(1, ordering: .relaxed).newValue
        return ClaimName(id: id, host: host, pid: pid, leaseSeconds: leaseSeconds, serial: serial)
    }

    /// Reads a `cur/` file name; `nil` for anything else (staged results, strays).
    public init?(fileName: String) {
        guard fileName.hasSuffix(".json") else { return nil }
        self.init(stem: fileName.dropLast(5))
    }

    /// Reads a claim's stem, the name without `.json` (or without `.result`, `.ok`, ... for the files beside it).
    public init?(stem: Substring) {
        let parts = stem.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 4 || parts.count == 5,
              let id = try? TaskID(String(parts[0])),
              let host = try? HostID(String(parts[1])),
              let pid = Int32(parts[2]), pid > 0,
              // A lease too long for an Int is still a lease: the longest (see `effectiveLeaseSeconds`).
              let lease = Int(parts[3]) ?? (parts[3].utf8.allSatisfy { (48...57).contains($0) } ? Int.max : nil),
              lease > 0
        else { return nil }
        var serial: Int?
        if parts.count == 5 {
            guard let number = Int(parts[4]), number > 0, String(number) == parts[4] else { return nil }
            serial = number
        }
        self.id = id
        self.host = host
        self.pid = pid
        leaseSeconds = lease
        self.serial = serial
        readStem = String(stem)
    }

    /// The lease the reaper judges the claim by: the one in the name, at most `TaskLimits.leaseSeconds`' upper
    /// bound, so that no name keeps a task from being taken back for ever.
    public var effectiveLeaseSeconds: Int { min(leaseSeconds, TaskLimits.leaseSeconds.upperBound) }

    public var stem: String {
        if let readStem { return readStem }
        let base = "\(id.rawValue)@\(host.rawValue)@\(pid)@\(leaseSeconds)"
        return serial.map { "\(base)@\($0)" } ?? base
    }
    public var fileName: String { stem + ".json" }

    /// Two claim names are the same when they name the same file.
    public static func == (lhs: ClaimName, rhs: ClaimName) -> Bool { lhs.stem == rhs.stem }
    public func hash(into hasher: inout Hasher) { hasher.combine(stem) }
    /// The name of the outcome staged beside this claim (a result, or the next attempt's task).
    public var stagedResultName: String { stem + ".result" }
    /// The claim's name once its holder has committed to `outcome`.
    public func committedName(_ outcome: Outcome) -> String { stem + "." + outcome.rawValue }

    /// What a holder commits a claim to, by renaming its `.json` to `<stem>.<outcome>`: the one rename that decides
    /// between the holder and a reaper taking the claim back (both rename the same `.json`; one succeeds).
    public enum Outcome: String, Sendable, CaseIterable {
        /// Finished with a result, status ok: the result goes to the reply queue, the task to `done/`.
        case ok
        /// Finished with a result, status error: the result goes to the reply queue, the task to `failed/`.
        case error
        /// Another attempt: the staged file is the next attempt's task, which goes back to `new/`.
        case retry
    }
    public var description: String { fileName }
}
