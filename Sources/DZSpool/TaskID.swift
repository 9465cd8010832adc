import DZSystem

/// A task's id, which is also its file's stem: `[A-Za-z0-9._-]`, 1 to 128 characters, not starting with a dot.
public struct TaskID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: String

    public static let maxLength = 128

    public init(_ text: String) throws(SpoolError) {
        guard TaskID.isValid(text) else { throw .invalidTaskID(text) }
        rawValue = text
    }

    init(unchecked text: String) { rawValue = text }

    public static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...maxLength).contains(bytes.count), bytes[0] != UInt8(ascii: ".") else { return false }
        return bytes.allSatisfy(isIDByte)
    }

    static func isIDByte(_ b: UInt8) -> Bool {
        (65...90).contains(b) || (97...122).contains(b) || (48...57).contains(b)
            || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
    }

    /// A new id that no other drop on any host will ever use: UTC time to the microsecond (so names sort in drop
    /// order), host id, process id and 32 random bits.
    public static func generate(host: HostID, pid: Int32 = Host.pid, at time: Timestamp = .now()) -> TaskID {
        let random = Host.randomBytes(4).map { byte in
            let hex = Array("0123456789abcdef")
            return String([hex[Int(byte >> 4)], hex[Int(byte & 15)]])
        }.joined()
        let hostPart = String(host.rawValue.prefix(40))
        return TaskID(unchecked: "\(time.compact)-\(hostPart)-\(pid)-\(random)")
    }

    public var description: String { rawValue }
    public static func < (a: TaskID, b: TaskID) -> Bool { a.rawValue < b.rawValue }
}
