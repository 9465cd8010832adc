import DZJSON
import Foundation
import Testing

/// dz's JSON parser, checked value by value and against Foundation's `JSONSerialization` on the same documents.
@Suite struct JSONParserTests {
    /// Foundation's reading of a document, in dz's terms (`nil` when Foundation rejects it).
    static func foundation(_ text: String) -> JSONValue? {
        guard let any = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) else {
            return nil
        }
        return convert(any)
    }

    static func convert(_ value: Any) -> JSONValue {
        switch value {
        case let text as String:
            return .string(text)
        case let number as NSNumber:
            switch UInt8(bitPattern: number.objCType.pointee) {
            case UInt8(ascii: "c"), UInt8(ascii: "B"): return .bool(number.boolValue)
            case UInt8(ascii: "d"), UInt8(ascii: "f"): return .double(number.doubleValue)
            case UInt8(ascii: "Q"):
                return number.uint64Value > UInt64(Int64.max) ? .double(number.doubleValue) : .int(number.int64Value)
            default: return .int(number.int64Value)
            }
        case let array as [Any]:
            return .array(array.map(convert))
        case let object as [String: Any]:
            return .object(object.mapValues(convert))
        default:
            return .null
        }
    }

    static let valid = [
        #"{"task":"noop"}"#, "  {\n\t\"a\" : [ 1 , 2.5 , -3 , true , false , null ] }\r\n", "[]", "{}", "[[[]]]",
        #""bare string""#, "0", "-0", "12", "-12", "1.5", "-1.5e3", "1E2", "1e-2", "0.000001", "123456789012",
        "9223372036854775807", "9223372036854775808", "18446744073709551616", "1.7976931348623157e308", "5e-324", "true", "false", "null",
        #""é ü 漢字 🙂""#, #""\u00e9\u6f22\ud83d\ude42""#, #""\"\\\/\b\f\n\r\t""#, #""\u0000 nul""#,
        #"{"a":1,"a":2}"#, #"{"nested":{"deeper":{"list":[{"x":"y"}]}},"n":-0.0}"#, #"[1,"two",{"three":[3]}]"#,
        #"{"id":"t1","task":"echo","args":{"password":"s3cret","n":42},"attempt":1,"max_attempts":3}"#,
    ]

    @Test(arguments: valid) func agreesWithFoundationOnValidDocuments(_ text: String) throws {
        let ours = try JSONValue.parse(Array(text.utf8))
        let theirs = try #require(JSONParserTests.foundation(text), "Foundation rejects \(text)")
        #expect(ours == theirs, "\(text)")
    }

    static let invalid = [
        "", " ", "{", "}", "[1,]", "[,1]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "{'a':1}", "[1 2]", "01", "-",
        "1.", ".5", "1e", "1e+", "+1", "NaN", "Infinity", "1e999", "-1e999", "tru", "nul", "truex", "[true false]",
        "\"open", "\"bad \\x escape\"", "\"\\u12\"", "\"\\uZZZZ\"", "\"\\ud83d\"", "\"\\ude42\"", "\"\\ud83d\\u0041\"",
        "\"tab\tinside\"", "\"line\nbreak\"", "{} {}", "[] x", "// comment\n{}", "{\"a\":1}/*c*/",
    ]

    @Test(arguments: invalid) func rejectsWhatJSONDoesNotAllow(_ text: String) {
        #expect(throws: JSONParseError.self, "\(text.debugDescription)") { try JSONValue.parse(Array(text.utf8)) }
    }

    @Test func rejectsInvalidUTF8InStrings() {
        let cases: [[UInt8]] = [
            [0x22, 0xFF, 0x22], [0x22, 0xC3, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22],
            Array("\"a\\n".utf8) + [0xC3, 0x28, 0x22],
        ]
        for bytes in cases {
            #expect(throws: JSONParseError.self) { try JSONValue.parse(bytes) }
        }
    }

    @Test func numbersKeepTheirKind() throws {
        #expect(try JSONValue.parse(Array("42".utf8)) == .int(42))
        #expect(try JSONValue.parse(Array("42.0".utf8)) == .double(42))
        #expect(try JSONValue.parse(Array("-9223372036854775808".utf8)) == .int(.min))
        #expect(try JSONValue.parse(Array("9223372036854775808".utf8)) == .double(9223372036854775808))
        #expect(try JSONValue.parse(Array("1e2".utf8)) == .double(100))
        // Foundation reads these two as doubles (the first) or one digit off (the second); dz reads them exactly.
        #expect(try JSONValue.parse(Array("-6769707363939119356".utf8)) == .int(-6769707363939119356))
        #expect(try JSONValue.parse(Array("-842753.5879990804".utf8)) == .double(-842753.5879990804))
    }

    @Test func errorsSayWhatAndWhere() {
        do {
            _ = try JSONValue.parse(Array(#"{"task": xyz}"#.utf8))
            Issue.record("parsed")
        } catch {
            #expect(error.offset == 9)
            #expect(error.description == "unexpected character 'x': a value was expected at byte 9")
        }
        do {
            _ = try JSONValue.parse(Array(#"{"task": nope}"#.utf8))
            Issue.record("parsed")
        } catch {
            #expect(error.description == "invalid literal: expected null at byte 9")
        }
        do {
            _ = try JSONValue.parse(Array(#"{"task":"noop""#.utf8))
            Issue.record("parsed")
        } catch {
            #expect(error.description.contains("end of input"))
        }
    }

    @Test func depthIsBounded() throws {
        let deep = String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(Array(deep.utf8)) }
        let fine = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        _ = try JSONValue.parse(Array(fine.utf8))
    }

    /// What dz writes, it reads back unchanged.
    @Test func serializedValuesRoundTrip() throws {
        let value = JSONValue.object([
            "s": .string("quote \" backslash \\ newline \n tab \t nul \u{0} emoji 🙂 é"),
            "i": .int(.max), "j": .int(.min), "d": .double(0.1), "e": .double(-2.5e-8), "b": .bool(false),
            "n": .null, "a": .array([.int(1), .object([:]), .array([])]),
        ])
        #expect(try JSONValue.parse(value.serialized()) == value)
    }

    /// Random documents built from the grammar, each with the value it spells: the parser reads that value.
    @Test func readsGeneratedDocuments() throws {
        var generator = SystemRandomNumberGenerator()
        func random(_ depth: Int) -> (String, JSONValue) {
            switch Int.random(in: 0..<(depth > 3 ? 5 : 7), using: &generator) {
            case 0:
                return [("true", .bool(true)), ("false", .bool(false)), ("null", .null)].randomElement(using: &generator)!
            case 1:
                let value = Int64.random(in: .min ... .max, using: &generator)
                return (String(value), .int(value))
            case 2:
                let value = Double.random(in: -1e6...1e6, using: &generator) * [1, 1e-12, 1e200].randomElement(using: &generator)!
                return (String(value), .double(value))
            case 3, 4:
                let pieces: [(String, String)] = [
                    ("a", "a"), ("é", "é"), ("\\n", "\n"), ("\\u00e9", "é"), ("\\ud83d\\ude42", "🙂"), ("🙂", "🙂"),
                    ("\\\"", "\""), (" ", " "), ("\\/", "/"), ("\\u0000", "\u{0}"),
                ]
                let chosen = (0..<Int.random(in: 0..<6, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }
                return ("\"" + chosen.map(\.0).joined() + "\"", .string(chosen.map(\.1).joined()))
            case 5:
                let elements = (0..<Int.random(in: 0..<4, using: &generator)).map { _ in random(depth + 1) }
                return ("[" + elements.map(\.0).joined(separator: ",") + "]", .array(elements.map(\.1)))
            default:
                let members = (0..<Int.random(in: 0..<4, using: &generator)).map { index in
                    let (text, value) = random(depth + 1)
                    return ("k\(index)", text, value)
                }
                let text = "{" + members.map { "\"\($0.0)\" : \($0.1)" }.joined(separator: ", ") + "}"
                return (text, .object(Dictionary(uniqueKeysWithValues: members.map { ($0.0, $0.2) })))
            }
        }
        for _ in 0..<1000 {
            let (text, value) = random(0)
            #expect(try JSONValue.parse(Array(text.utf8)) == value, "\(text)")
            #expect(try JSONValue.parse(value.serialized()) == value, "\(text)")
        }
    }
}
