/// Durations as people type them: `500ms`, `30s`, `5m`, `2h`, `30d`, or plain seconds.
public enum DurationText {
    /// Seconds, or `nil` when `text` is not a duration.
    public static func seconds(_ text: String) -> Double? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            if suffix == "s", number.hasSuffix("m") { continue }
            guard let value = Double(number), value >= 0, value.isFinite else { return nil }
            return value * scale
        }
        guard let value = Double(text), value >= 0, value.isFinite else { return nil }
        return value
    }
}
