import DZSpool

/// The job parameters that override every step's policy: `timeout_s`, `max_attempts`, `backoff_s`. Checked when a
/// job is submitted (by `dz` before it sends the request, and by the coordinator when it takes it in), so that a
/// value such as `nan`, `-1`, `inf` or `1e300` is refused with a clear error instead of being ignored or reaching
/// arithmetic that traps.
public enum JobPolicy {
    /// Each parameter's range.
    static let ranges: [(key: String, range: ClosedRange<Double>, whole: Bool)] = [
        ("timeout_s", TaskLimits.timeoutSeconds, false),
        ("backoff_s", TaskLimits.backoffSeconds, false),
        ("max_attempts", 1...1000, true),
    ]

    /// Why `params` holds a policy parameter dz cannot use, or nil.
    public static func problem(in params: [String: JSONValue]) -> String? {
        for (key, range, whole) in ranges {
            guard let value = params[key], value != .null else { continue }
            let text = value.parameterText ?? "\(value)"
            guard let number = value.doubleValue ?? value.stringValue.flatMap(Double.init), number.isFinite,
                  range.contains(number), !whole || number.rounded() == number
            else {
                let what = whole ? "a whole number" : "a number"
                return "parameter \(key) must be \(what) from \(TaskLimits.text(range.lowerBound)) to "
                    + "\(TaskLimits.text(range.upperBound)), not \"\(String(text.prefix(40)))\""
            }
        }
        return nil
    }

    /// The checked value of a policy parameter, or nil when it is absent (or, should an unchecked job get this
    /// far, out of range).
    static func value(_ key: String, in params: [String: JSONValue]) -> Double? {
        guard let entry = ranges.first(where: { $0.key == key }), let value = params[key],
              let number = value.doubleValue ?? value.stringValue.flatMap(Double.init), number.isFinite,
              entry.range.contains(number) else { return nil }
        return number
    }
}
