/// A size in bytes as people write it in flags, parameters and messages: one parser and one format for all of
/// them (`--max-bundle-size`, `--app-memory`, a job's `memory_limit`).
public enum ByteSize {
    /// Reads a size: bytes, or a number with `K`, `M`, `G` or `T` in either case (powers of 1024, an optional `iB`
    /// or `B` after it), spaces ignored. Nil for anything else, zero, or more than an `Int64` holds: a hostile
    /// `99999999999999T` is refused, never wrapped into a small size.
    public static func parse(_ text: String) -> Int64? {
        var digits = String(text.filter { $0 != " " }).uppercased()
        if digits.hasSuffix("IB") { digits.removeLast(2) } else if digits.hasSuffix("B") { digits.removeLast() }
        var shift: Int64 = 0
        if let last = digits.last, let position = Array("KMGT").firstIndex(of: last) {
            shift = Int64(10 * (position + 1))
            digits.removeLast()
        }
        guard !digits.isEmpty, digits.count <= 19, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
              let number = Int64(digits), number > 0 else { return nil }
        let (value, overflow) = number.multipliedReportingOverflow(by: Int64(1) << shift)
        return overflow ? nil : value
    }

    /// `1.5 GiB`, `300 MiB`, `12 KiB`, `100 bytes`: a size as messages give it.
    public static func text(_ bytes: Int64) -> String {
        let units: [(Int64, String)] = [(1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")]
        for (unit, name) in units where bytes >= unit {
            let tenths = (Double(bytes) / Double(unit) * 10).rounded()
            let whole = Int64(tenths / 10)
            let fraction = Int64(tenths) - whole * 10
            return (fraction == 0 ? "\(whole)" : "\(whole).\(fraction)") + " " + name
        }
        return "\(bytes) bytes"
    }
}
