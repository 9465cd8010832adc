/// A wake-up ring: the UDP datagram a host sends to the hosts serving a queue right after it put a file into
/// that queue's `new/`, so that they look at once instead of at their next rescan.
///
/// One line of ASCII, `dz-wake/1 <spool-id> <queue>\n`, at most `maxSize` bytes. It names a queue and the spool
/// it belongs to, nothing else: no path, no task id, no data. A receiver believes nothing of it beyond "queue X of
/// spool S may have new files": it checks that S is its spool and that it serves X, and then at most lists that
/// queue's `new/` (rate-limited), which it does every rescan anyway. A forged ring costs one such listing.
public struct WakeRing: Sendable, Equatable {
    public var spoolID: String
    public var queue: QueueName

    /// The protocol's tag and version: a datagram starting otherwise is not a ring.
    public static let tag = "dz-wake/1"
    /// The longest ring: the tag, a spool id of up to 64 characters, a queue name of up to 64, separators.
    public static let maxSize = 160

    public init(spoolID: String, queue: QueueName) {
        self.spoolID = spoolID
        self.queue = queue
    }

    /// Whether `text` can be a spool id in a ring: 1 to 64 characters of `[A-Za-z0-9_-]` (`dz init` makes 32
    /// hex digits).
    public static func isValidSpoolID(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return (1...64).contains(bytes.count) && bytes.allSatisfy { byte in
            (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }

    /// The datagram.
    public func encoded() -> [UInt8] {
        Array("\(WakeRing.tag) \(spoolID) \(queue.rawValue)\n".utf8)
    }

    /// Reads a datagram strictly: exactly the tag, a valid spool id and a valid queue name separated by single
    /// spaces, and one final newline; anything else (longer, other bytes, extra fields) is refused.
    public init(parsing bytes: [UInt8]) throws(BadInput) {
        guard bytes.count <= WakeRing.maxSize else { throw BadInput("too-large", "a ring is at most \(WakeRing.maxSize) bytes") }
        guard bytes.last == 0x0A else { throw BadInput("format", "a ring ends with a newline") }
        let fields = bytes.dropLast().split(separator: 0x20, omittingEmptySubsequences: false)
        guard fields.count == 3, fields.allSatisfy({ $0.allSatisfy { (0x21...0x7E).contains($0) } }) else {
            throw BadInput("format", "a ring is three printable fields separated by single spaces")
        }
        guard String(decoding: fields[0], as: UTF8.self) == WakeRing.tag else {
            throw BadInput("format", "not a \(WakeRing.tag) ring")
        }
        let spoolID = String(decoding: fields[1], as: UTF8.self)
        guard WakeRing.isValidSpoolID(spoolID) else { throw BadInput("format", "not a spool id") }
        let queue: QueueName
        do { queue = try QueueName(String(decoding: fields[2], as: UTF8.self)) } catch {
            throw BadInput("format", "not a queue name")
        }
        self.init(spoolID: spoolID, queue: queue)
    }
}
