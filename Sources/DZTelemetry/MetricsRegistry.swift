import Synchronization

/// A process's metrics, kept in memory and written out in Prometheus's text exposition format (version 0.0.4):
/// counters, gauges and histograms by family, each family with its help text and each series with its labels.
///
/// Small on purpose (no swift-metrics backend): dz's processes write their metrics to a file for node_exporter's
/// textfile collector (`MetricsFile`) every few seconds, and a few dozen series need no more than this.
public final class MetricsRegistry: Sendable {
    public enum Kind: String, Sendable {
        case counter, gauge, histogram
    }

    /// Label names and values of one series, sorted by name when written.
    public typealias Labels = [String: String]

    struct Family {
        var kind: Kind
        var help: String
        var buckets: [Double]
        var values: [Labels: Double] = [:]
        var histograms: [Labels: Histogram] = [:]
    }

    struct Histogram {
        var counts: [UInt64]
        var sum: Double = 0
        var count: UInt64 = 0
    }

    /// Buckets for times of a task or a step, from 5 ms to an hour.
    public static let durationBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
                                                   120, 300, 600, 1800, 3600]

    private let families = Mutex<[String: Family]>([:])

    public init() {}

    /// Declares a family; its series then appear once they have a value (counters and histograms of every
    /// declared label set also when they are still zero, see `touch`).
    public func declare(_ name: String, _ kind: Kind, help: String, buckets: [Double] = durationBuckets) {
        families.withLock { families in
            if families[name] == nil {
                families[name] = Family(kind: kind, help: help, buckets: kind == .histogram ? buckets.sorted() : [])
            }
        }
    }

    /// Makes a counter's series exist at zero (so that a rate can be taken from the first scrape).
    public func touch(_ name: String, _ labels: Labels) {
        families.withLock { families in
            guard var family = families[name] else { return }
            switch family.kind {
            case .counter, .gauge: if family.values[labels] == nil { family.values[labels] = 0 }
            case .histogram:
                if family.histograms[labels] == nil {
                    family.histograms[labels] = Histogram(counts: Array(repeating: 0, count: family.buckets.count))
                }
            }
            families[name] = family
        }
    }

    /// Adds `amount` (not negative) to a counter.
    public func increment(_ name: String, _ labels: Labels = [:], by amount: Double = 1) {
        guard amount >= 0, amount.isFinite else { return }
        families.withLock { families in
            guard families[name]?.kind == .counter else { return }
            families[name]!.values[labels, default: 0] += amount
        }
    }

    /// Sets a gauge's series.
    public func set(_ name: String, _ labels: Labels = [:], to value: Double) {
        families.withLock { families in
            guard families[name]?.kind == .gauge else { return }
            families[name]!.values[labels] = value
        }
    }

    /// Replaces every series of a gauge (series not given are gone: a queue no longer served).
    public func replace(_ name: String, with values: [Labels: Double]) {
        families.withLock { families in
            guard families[name]?.kind == .gauge else { return }
            families[name]!.values = values
        }
    }

    /// Records one observation in a histogram.
    public func observe(_ name: String, _ labels: Labels = [:], _ value: Double) {
        guard value.isFinite else { return }
        families.withLock { families in
            guard var family = families[name], family.kind == .histogram else { return }
            var histogram = family.histograms[labels]
                ?? Histogram(counts: Array(repeating: 0, count: family.buckets.count))
            if let index = family.buckets.firstIndex(where: { value <= $0 }) { histogram.counts[index] += 1 }
            histogram.sum += value
            histogram.count += 1
            family.histograms[labels] = histogram
            families[name] = family
        }
    }

    /// A counter's or gauge's value (for tests and status lines).
    public func value(_ name: String, _ labels: Labels = [:]) -> Double? {
        families.withLock { $0[name]?.values[labels] }
    }

    /// The text exposition of every family, sorted by name.
    public func exposition() -> String {
        let snapshot = families.withLock { $0 }
        var text = ""
        for (name, family) in snapshot.sorted(by: { $0.key < $1.key }) {
            text += "# HELP \(name) \(MetricsRegistry.escapeHelp(family.help))\n# TYPE \(name) \(family.kind.rawValue)\n"
            switch family.kind {
            case .counter, .gauge:
                for (labels, value) in family.values.sorted(by: { MetricsRegistry.key($0.key) < MetricsRegistry.key($1.key) }) {
                    text += "\(name)\(MetricsRegistry.format(labels)) \(MetricsRegistry.format(value))\n"
                }
            case .histogram:
                for (labels, histogram) in family.histograms.sorted(by: { MetricsRegistry.key($0.key) < MetricsRegistry.key($1.key) }) {
                    var cumulative: UInt64 = 0
                    for (bound, count) in zip(family.buckets, histogram.counts) {
                        cumulative += count
                        var bucket = labels
                        bucket["le"] = MetricsRegistry.format(bound)
                        text += "\(name)_bucket\(MetricsRegistry.format(bucket)) \(cumulative)\n"
                    }
                    var infinity = labels
                    infinity["le"] = "+Inf"
                    text += "\(name)_bucket\(MetricsRegistry.format(infinity)) \(histogram.count)\n"
                    text += "\(name)_sum\(MetricsRegistry.format(labels)) \(MetricsRegistry.format(histogram.sum))\n"
                    text += "\(name)_count\(MetricsRegistry.format(labels)) \(histogram.count)\n"
                }
            }
        }
        return text
    }

    private static func key(_ labels: Labels) -> String {
        labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    /// `{a="x",b="y"}`, values escaped as the format asks (backslash, double quote, newline); empty without labels.
    static func format(_ labels: Labels) -> String {
        guard !labels.isEmpty else { return "" }
        let pairs = labels.sorted { $0.key < $1.key }.map { key, value -> String in
            var escaped = ""
            for character in value {
                switch character {
                case "\\": escaped += "\\\\"
                case "\"": escaped += "\\\""
                case "\n": escaped += "\\n"
                default: escaped.append(character)
                }
            }
            return "\(key)=\"\(escaped)\""
        }
        return "{" + pairs.joined(separator: ",") + "}"
    }

    /// A sample value: integers without a fraction, `+Inf`, `-Inf` and `NaN` as the format spells them.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    private static func escapeHelp(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }
}
