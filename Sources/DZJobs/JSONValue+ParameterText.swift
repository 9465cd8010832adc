import DZSpool

extension JSONValue {
    /// A job parameter's text, whatever its JSON type (`dz job submit --param` gives strings, `dz deploy` numbers):
    /// nil for null, arrays and objects.
    var parameterText: String? {
        switch self {
        case .string(let text): text
        case .int(let number): String(number)
        case .double(let number): String(number)
        case .bool(let flag): String(flag)
        default: nil
        }
    }
}
