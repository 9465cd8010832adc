#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension Timestamp {
    /// The instant as RFC 3339 in UTC with microseconds: `2026-11-29T00:28:15.123456Z`.
    public var rfc3339: String {
        var secs = time_t(nanoseconds / 1_000_000_000)
        var micros = (nanoseconds % 1_000_000_000) / 1000
        if micros < 0 { micros += 1_000_000; secs -= 1 }
        var tm = Glibc.tm()
        gmtime_r(&secs, &tm)
        // Written digit by digit: this runs several times per task, and string interpolation costs more than
        // the file system calls around it.
        var bytes = [UInt8](repeating: 0, count: 27)
        func put(_ value: Int, _ at: Int, _ width: Int) {
            var rest = value
            for index in stride(from: at + width - 1, through: at, by: -1) {
                bytes[index] = UInt8(48 + rest % 10)
                rest /= 10
            }
        }
        put(Int(tm.tm_year) + 1900, 0, 4)
        bytes[4] = UInt8(ascii: "-")
        put(Int(tm.tm_mon) + 1, 5, 2)
        bytes[7] = UInt8(ascii: "-")
        put(Int(tm.tm_mday), 8, 2)
        bytes[10] = UInt8(ascii: "T")
        put(Int(tm.tm_hour), 11, 2)
        bytes[13] = UInt8(ascii: ":")
        put(Int(tm.tm_min), 14, 2)
        bytes[16] = UInt8(ascii: ":")
        put(Int(tm.tm_sec), 17, 2)
        bytes[19] = UInt8(ascii: ".")
        put(Int(micros), 20, 6)
        bytes[26] = UInt8(ascii: "Z")
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The UTC day of the instant, `2026-11-29`: the name of the day directories in `done/` and `failed/`.
    public var utcDay: String { String(rfc3339.prefix(10)) }

    /// A compact UTC form that sorts in time order and is safe in file names: `20261129T002815.123456Z`.
    public var compact: String {
        String(decoding: rfc3339.utf8.filter { $0 != UInt8(ascii: "-") && $0 != UInt8(ascii: ":") }, as: UTF8.self)
    }

    /// Parses RFC 3339 (`2026-11-29T00:28:15Z`, optional fraction, `Z` or a `+hh:mm` offset); nil for anything
    /// else (also a day the month does not have, such as February 30, which `timegm` would quietly move into
    /// March, and an offset past 23:59), and for instants outside `Timestamp.accepted` (before 1970 or from 2200
    /// on).
    public init?(rfc3339 text: String) {
        let bytes = Array(text.utf8)
        func number(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[start..<start + count] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard bytes.count >= 20,
              let year = number(0, 4), bytes[4] == UInt8(ascii: "-"),
              let month = number(5, 2), bytes[7] == UInt8(ascii: "-"),
              let day = number(8, 2), bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t")
                || bytes[10] == UInt8(ascii: " "),
              let hour = number(11, 2), bytes[13] == UInt8(ascii: ":"),
              let minute = number(14, 2), bytes[16] == UInt8(ascii: ":"),
              let second = number(17, 2),
              (1...12).contains(month), (1...Timestamp.days(inMonth: month, year: year)).contains(day), hour < 24,
              minute < 60, second < 61
        else { return nil }
        var index = 19
        var nanos: Int64 = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            var digits = 0
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                if digits < 9 { nanos = nanos * 10 + Int64(bytes[index] - 48); digits += 1 }
                index += 1
            }
            guard digits > 0 else { return nil }
            for _ in digits..<9 { nanos *= 10 }
        }
        guard index < bytes.count else { return nil }
        var offset = 0
        switch bytes[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard index + 1 == bytes.count else { return nil }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard index + 6 == bytes.count, let oh = number(index + 1, 2), bytes[index + 3] == UInt8(ascii: ":"),
                  let om = number(index + 4, 2), oh < 24, om < 60 else { return nil }
            offset = (oh * 60 + om) * 60 * (bytes[index] == UInt8(ascii: "-") ? -1 : 1)
        default:
            return nil
        }
        var tm = Glibc.tm()
        tm.tm_year = Int32(year - 1900)
        tm.tm_mon = Int32(month - 1)
        tm.tm_mday = Int32(day)
        tm.tm_hour = Int32(hour)
        tm.tm_min = Int32(minute)
        tm.tm_sec = Int32(second)
        let secs = Int64(timegm(&tm)) - Int64(offset)
        let first = Timestamp.accepted.lowerBound.nanoseconds / 1_000_000_000
        let end = Timestamp.accepted.upperBound.nanoseconds / 1_000_000_000
        guard secs >= first, secs < end else { return nil }
        self.init(nanoseconds: secs * 1_000_000_000 + nanos)
    }

    /// The days of `month` (1 to 12) in `year`, in the Gregorian calendar.
    static func days(inMonth month: Int, year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}
