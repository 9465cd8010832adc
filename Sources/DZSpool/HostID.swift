import DZSystem
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// The name an agent goes by in claims, results, heartbeats and logs: `[A-Za-z0-9._-]`, 1 to 64 characters,
/// not starting with a dot. Must be unique per machine.
public struct HostID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: String

    public init(_ text: String) throws(SpoolError) {
        let bytes = Array(text.utf8)
        guard (1...64).contains(bytes.count), bytes[0] != UInt8(ascii: "."), bytes.allSatisfy(TaskID.isIDByte)
        else { throw .invalidHostID(text) }
        rawValue = text
    }

    /// This machine's id: `$DZ_HOST_ID` when it is set (and valid), else its host name with every character
    /// outside the id alphabet replaced by `-`. Set `DZ_HOST_ID` where two machines could share a host name.
    public static var local: HostID {
        if let text = getenv("DZ_HOST_ID").map({ String(cString: $0) }), !text.isEmpty, let id = try? HostID(text) {
            return id
        }
        var cleaned = String(Host.name.utf8.prefix(64).map { TaskID.isIDByte($0) ? Character(UnicodeScalar($0)) : "-" })
        if cleaned.isEmpty || cleaned.hasPrefix(".") { cleaned = "host" + cleaned }
        return (try? HostID(String(cleaned.prefix(64)))) ?? HostID(unchecked: "localhost")
    }

    init(unchecked text: String) { rawValue = text }

    public var description: String { rawValue }
    public static func < (a: HostID, b: HostID) -> Bool { a.rawValue < b.rawValue }
}
