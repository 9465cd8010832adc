#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A wall-clock instant with nanosecond resolution, as file times and `clock_gettime` give it.
///
/// Times come from outside (task fields, file mtimes, flags, other hosts' clocks), so no operation here can trap:
/// construction and arithmetic saturate at the ends of the representable range (1677 to 2262), and a NaN counts as
/// zero. Parsers refuse times outside `accepted` (1970 to 2200) before they get this far.
public struct Timestamp: Sendable, Hashable, Comparable, Codable {
    /// Nanoseconds since 1970-01-01T00:00:00Z.
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    /// The instant `seconds` after the epoch, saturating.
    public init(seconds: Double) { self.nanoseconds = Timestamp.saturatingNanoseconds(seconds) }

    /// A file or clock time; one past 2262 (a file touched far into the future) saturates.
    init(_ ts: Glibc.timespec) {
        let (scaled, overflow) = Int64(ts.tv_sec).multipliedReportingOverflow(by: 1_000_000_000)
        if overflow {
            nanoseconds = ts.tv_sec < 0 ? .min : .max
        } else {
            nanoseconds = scaled.addingReportingOverflow(Int64(ts.tv_nsec)).overflow ? .max
                : scaled + Int64(ts.tv_nsec)
        }
    }

    /// The earliest and the latest instant.
    public static let distantPast = Timestamp(nanoseconds: .min)
    public static let distantFuture = Timestamp(nanoseconds: .max)

    /// The instants dz accepts in what it reads (task and result fields, job requests): from 1970-01-01 up to
    /// 2200-01-01, well inside what nanoseconds in 64 bits hold, so that adding any accepted duration cannot
    /// reach the end of the range either.
    public static let accepted = Timestamp(nanoseconds: 0)..<Timestamp(nanoseconds: 7_258_118_400 * 1_000_000_000)

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
        var secs = nanoseconds / 1_000_000_000
        var nanos = nanoseconds % 1_000_000_000
        if nanos < 0 { nanos += 1_000_000_000; secs -= 1 }
        return Glibc.timespec(tv_sec: Int(secs), tv_nsec: Int(nanos))
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.nanoseconds < rhs.nanoseconds }

    /// `seconds` later (earlier when negative), saturating at the ends of the range.
    public static func + (lhs: Timestamp, rhs: Double) -> Timestamp {
        let scaled = rhs * 1e9
        // An addend past Int64 itself (292 years) takes any instant past the end of the range.
        guard scaled.magnitude < 9.2e18 else { return rhs.isNaN ? lhs : rhs < 0 ? distantPast : distantFuture }
        let (sum, overflow) = lhs.nanoseconds.addingReportingOverflow(Int64(scaled.rounded()))
        guard overflow else { return Timestamp(nanoseconds: sum) }
        return rhs < 0 ? distantPast : distantFuture
    }

    /// The seconds from `rhs` to `lhs`; exact to the nanosecond unless the two are centuries apart.
    public static func - (lhs: Timestamp, rhs: Timestamp) -> Double {
        let (difference, overflow) = lhs.nanoseconds.subtractingReportingOverflow(rhs.nanoseconds)
        return overflow ? (Double(lhs.nanoseconds) - Double(rhs.nanoseconds)) / 1e9 : Double(difference) / 1e9
    }

    /// Seconds as nanoseconds, clamped to `Int64`'s range; NaN is zero.
    static func saturatingNanoseconds(_ seconds: Double) -> Int64 {
        Int64(saturating: seconds * 1e9)
    }
}

extension BinaryInteger where Self: FixedWidthInteger {
    /// `value` rounded to the nearest integer and clamped to the type's range; NaN is zero. For numbers from outside
    /// (durations, counts, sizes), where `Int(value)` would trap.
    public init(saturating value: Double) {
        if value.isNaN {
            self = 0
        } else if value >= Double(Self.max) {
            self = .max
        } else if value <= Double(Self.min) {
            self = .min
        } else {
            self = Self(value.rounded())
        }
    }
}
