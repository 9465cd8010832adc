#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A wall-clock instant with nanosecond resolution, as file times and `clock_gettime` give it.
public struct Timestamp: Sendable, Hashable, Comparable, Codable {
    /// Nanoseconds since 1970-01-01T00:00:00Z.
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public init(seconds: Double) { self.nanoseconds = Int64((seconds * 1e9).rounded()) }

    init(_ ts: Glibc.timespec) { nanoseconds = Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec) }

    /// The current time of the real-time clock.
    ///
    /// The corresponding C function is `clock_gettime(CLOCK_REALTIME)`.
    public static func now() -> Timestamp {
        var ts = Glibc.timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(ts)
    }

    public var seconds: Double { Double(nanoseconds) / 1e9 }

    var timespecValue: Glibc.timespec {
        Glibc.timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    public static func + (lhs: Timestamp, rhs: Double) -> Timestamp {
        Timestamp(nanoseconds: lhs.nanoseconds + Int64((rhs * 1e9).rounded()))
    }

    public static func - (lhs: Timestamp, rhs: Timestamp) -> Double {
        Double(lhs.nanoseconds - rhs.nanoseconds) / 1e9
    }
}
