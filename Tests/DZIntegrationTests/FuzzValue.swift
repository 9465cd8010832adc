import Foundation

/// A JSON value as the fuzz test writes it into a file (the text may be invalid JSON on purpose), with what it is
/// by construction: the test judges a field holding it by dz-spool(5)'s rules alone (`FuzzSpec`), not by dz's
/// parser.
struct FuzzValue: CustomStringConvertible {
    enum Meaning {
        case null
        case bool(Bool)
        /// A valid JSON number and its value.
        case number(Double)
        case string(String)
        /// A string that spells a time: valid when it is RFC 3339 from 1970 up to (not including) 2200; nil where
        /// the rules leave it open (a leap second).
        case time(valid: Bool?)
        case array
        case object
        /// Arrays nested this deep (valid up to the parser's depth limit, which the spec does not state).
        case deep(Int)
        /// Not JSON: the whole file is then invalid.
        case invalid
    }

    var json: String
    var meaning: Meaning

    var description: String { json.count > 48 ? String(json.prefix(40)) + "...(\(json.utf8.count) bytes)" : json }

    static let null = FuzzValue(json: "null", meaning: .null)

    static func number(_ text: String) -> FuzzValue {
        guard let value = Double(text), value.isFinite else { return FuzzValue(json: text, meaning: .invalid) }
        return FuzzValue(json: text, meaning: .number(value))
    }

    static func bad(_ text: String) -> FuzzValue { FuzzValue(json: text, meaning: .invalid) }

    /// A JSON string literal for `value`, escaped as JSON requires.
    static func string(_ value: String) -> FuzzValue {
        FuzzValue(json: quoted(value), meaning: .string(value))
    }

    static func time(_ text: String, _ valid: Bool?) -> FuzzValue {
        FuzzValue(json: quoted(text), meaning: .time(valid: valid))
    }

    static func deep(_ depth: Int) -> FuzzValue {
        FuzzValue(json: String(repeating: "[", count: depth) + String(repeating: "]", count: depth), meaning: .deep(depth))
    }

    static func quoted(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

/// The values the fuzz test draws from: extremes and invalid forms of every JSON type.
enum FuzzValues {
    static let numbers: [FuzzValue] = [
        "0", "-0", "1", "-1", "2", "3", "0.5", "-0.5", "2.5", "3.0", "1e3", "1E3", "1e+3", "1e-3", "0.001", "0.0009999",
        "1e308", "-1e308", "1.7976931348623157e308", "4.9e-324", "1e-400", "9223372036854775807",
        "9223372036854775808", "-9223372036854775808", "-9223372036854775809", "18446744073709551616", "1e10",
        "1e300", "86400", "86400.5", "86401", "604800", "604801", "1000000", "1000001", "1e6", "1000000.0000001",
        "123456789012345678901234567890", "0.1", "30", "4294967296", "2147483647", "2147483648",
    ].map(FuzzValue.number)

    /// Number-like text that is not a JSON number.
    static let badNumbers: [FuzzValue] = [
        "1e309", "-1e400", "NaN", "nan", "Infinity", "-Infinity", "inf", "00", "01", "+1", ".5", "1.", "-", "0x10",
        "1e", "1_000", "\u{661}", "1e+", "--1", "0.e1", "1e400",
    ].map(FuzzValue.bad)

    static let strings: [FuzzValue] = [
        FuzzValue.string(""), .string("noop"), .string("1"), .string("3"), .string("1e308"), .string("nan"),
        .string("inf"), .string("-1"), .string("true"), .string("a\u{0}b"), .string("line\nbreak"),
        .string("tab\t\u{1}\u{1f}"), .string("\u{1F600}"), .string("\u{e9}t\u{e9}"), .string("e\u{301}"),
        .string("a=b c\"d\\"), .string("../../etc/passwd"), .string("$(reboot)"), .string(String(repeating: "x", count: 300)),
        .string(String(repeating: "\u{10FFFF}", count: 50)), .string("\u{FEFF}bom"), .string("\u{2028}\u{85}"),
        .string(String(repeating: "y", count: 70_000)),
        // Invalid as JSON: a lone surrogate, raw control characters, an unterminated string, a bad escape.
        .bad("\"\\ud800\""), .bad("\"\\udc00x\""), .bad("\"raw\u{1}control\""), .bad("\"raw\nnewline\""),
        .bad("\"unterminated"), .bad("\"bad \\x escape\""), .bad("\"\\u12\""),
    ]

    static let others: [FuzzValue] = [
        .null, FuzzValue(json: "true", meaning: .bool(true)), FuzzValue(json: "false", meaning: .bool(false)),
        FuzzValue(json: "[]", meaning: .array), FuzzValue(json: "[1,\"2\",[3]]", meaning: .array),
        FuzzValue(json: "{}", meaning: .object), FuzzValue(json: "{\"a\":{\"b\":[]},\"\":null}", meaning: .object),
        .deep(100), .deep(254), .deep(255), .deep(256), .deep(300), .deep(100_000),
        .bad("["), .bad("{\"a\":}"), .bad(""), .bad("tru"), .bad("nul"), .bad("{\"a\" 1}"), .bad("[1,]"),
        .bad("{\"a\":1,}"), .bad("'single'"), .bad("/* comment */ 1"),
    ]

    /// Every value of every type.
    static let all: [FuzzValue] = numbers + badNumbers + strings + others

    /// Times: valid ones in and out of range, invalid forms, and instants relative to `now` (seconds since the
    /// epoch): an hour ago, a day and 200 days ahead (deferred), 400 days and 50 years ahead (too far ahead).
    static func times(now: Double) -> [FuzzValue] {
        func at(_ offset: Double) -> String {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime]
            return formatter.string(from: Date(timeIntervalSince1970: now + offset))
        }
        return [
            .time("2026-11-29T10:00:00Z", true), .time("1970-01-01T00:00:00Z", true),
            .time("2199-12-31T23:59:59Z", true), .time("2199-12-31T23:59:59.999999999Z", true),
            .time("2000-02-29T12:00:00+05:30", true), .time("2026-06-01t10:00:00z", true),
            .time("2026-06-01T10:00:00.123456789123Z", true), .time("2026-06-01T10:00:00-00:00", true),
            .time("1970-01-01T01:00:00+01:00", true), .time("2026-12-31T23:59:60Z", nil),
            // Valid form, out of range.
            .time("0000-01-01T00:00:00Z", false), .time("1677-09-21T00:12:43Z", false),
            .time("1969-12-31T23:59:59Z", false), .time("1970-01-01T00:59:59+01:00", false),
            .time("2200-01-01T00:00:00Z", false), .time("2262-04-11T23:47:16Z", false),
            .time("2262-04-11T23:47:17Z", false), .time("2263-01-01T00:00:00Z", false),
            .time("9999-12-31T23:59:59Z", false), .time("2199-12-31T23:00:00-01:00", false),
            // Not RFC 3339.
            .time("2026-02-30T00:00:00Z", false), .time("2026-02-29T00:00:00Z", false),
            .time("2026-04-31T00:00:00Z", false), .time("2026-13-01T00:00:00Z", false),
            .time("2026-00-10T00:00:00Z", false), .time("2026-01-00T00:00:00Z", false),
            .time("2026-01-01T24:00:00Z", false), .time("2026-01-01T23:60:00Z", false),
            .time("2026-01-01T00:00:00+24:00", false), .time("2026-01-01T00:00:00+99:99", false),
            .time("2026-01-01T00:00:00+05:60", false), .time("2026-01-01T00:00:00+0530", false),
            .time("2026-01-01T00:00:00", false), .time("2026-01-01", false), .time("2026-01-01T00:00Z", false),
            .time("2026-1-01T00:00:00Z", false), .time("+2026-01-01T00:00:00Z", false),
            .time("12026-01-01T00:00:00Z", false), .time("2026-01-01T00:00:00.Z", false),
            .time("2026-01-01T00:00:00ZZ", false), .time(" 2026-01-01T00:00:00Z", false),
            .time("\u{FF12}\u{FF10}\u{FF12}\u{FF16}-01-01T00:00:00Z", false), .time("", false), .time("now", false),
            .time("1700000000", false), .time("2026-01-01T00:00:00Z\u{0}", false),
            // Relative to now.
            .time(at(-3600), true), .time(at(86_400), true), .time(at(200 * 86_400), true),
            .time(at(400 * 86_400), true), .time(at(50 * 365 * 86_400), true),
        ]
    }
}
