/// Durations as people type them: `500ms`, `30s`, `5m`, `2h`, `30d`, or plain seconds.
public enum DurationText {
    /// Seconds, or `nil` when `text` is not a finite duration. A leading `-` is read (and gives a negative number),
    /// so that a caller can say "must not be negative" rather than "not a duration".
    public static func seconds(_ text: String) -> Double? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            if suffix == "s", number.hasSuffix("m") { continue }
            guard let value = Double(number), value.isFinite, (value * scale).isFinite else { return nil }
            return value * scale
        }
        guard let value = Double(text), value.isFinite else { return nil }
        return value
    }

    /// Seconds as the shortest of `ms`, `s`, `m`, `h`, `d` that says them exactly: `86400` is `1d`.
    public static func text(_ seconds: Double) -> String {
        for (suffix, scale) in [("d", 86400.0), ("h", 3600), ("m", 60)]
        where seconds >= scale && (seconds / scale).rounded() == seconds / scale {
            return TaskLimits.text(seconds / scale) + suffix
        }
        if seconds > 0, seconds < 1 { return TaskLimits.text((seconds * 1000 * 1000).rounded() / 1000) + "ms" }
        return TaskLimits.text(seconds) + "s"
    }

    /// Why `text` is not a duration within `range`, or nil when it is one.
    public static func problem(_ text: String, in range: ClosedRange<Double>) -> String? {
        guard let seconds = seconds(text) else {
            return "\"\(String(text.prefix(40)))\" is not a duration (use 500ms, 30s, 5m, 2h, 30d or seconds)"
        }
        if seconds < 0, range.lowerBound >= 0 { return "\(text) is negative: a duration must not be" }
        guard range.contains(seconds) else {
            return "\(text) is out of range: use \(DurationText.text(range.lowerBound)) to \(DurationText.text(range.upperBound))"
        }
        return nil
    }
}
