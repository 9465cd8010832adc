import DZSpool

/// A parameter's text, whatever its JSON type.
enum JSONValueText {
    static func string(_ value: JSONValue) -> String? {
        switch value {
        case .string(let text): text
        case .int(let number): String(number)
        case .double(let number): String(number)
        case .bool(let flag): String(flag)
        default: nil
        }
    }
}
