/// How commands write numbers, ages and tables.
public enum TextFormat {
    /// `1.2`: one decimal.
    public static func tenths(_ value: Double) -> String {
        guard value.isFinite else { return "-" }
        let tenths = Int((max(-1e12, min(1e12, value)) * 10).rounded())
        return "\(tenths / 10).\(abs(tenths % 10))"
    }

    /// `1.2s`, `3m`, `2h`, `4d`: an age at a glance.
    public static func age(_ seconds: Double) -> String {
        switch seconds {
        case ..<60: "\(tenths(max(0, seconds)))s"
        case ..<3600: "\(Int(seconds / 60))m"
        case ..<86400: "\(Int(seconds / 3600))h"
        default: "\(Int(min(seconds, 1e15) / 86400))d"
        }
    }

    /// `1.5K`, `2.0M`: a size in bytes.
    public static func size(_ bytes: UInt64) -> String {
        let units = ["B", "K", "M", "G", "T"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return tenths(value) + units[unit]
    }

    /// Rows as left-aligned columns, two spaces apart, each line ending in a newline.
    public static func table(_ rows: [[String]]) -> String {
        guard let first = rows.first else { return "" }
        var widths = Array(repeating: 0, count: first.count)
        for row in rows { for (index, cell) in row.enumerated() where index < widths.count { widths[index] = max(widths[index], cell.count) } }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 || index >= widths.count
                    ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: "  ") + "\n"
        }.joined()
    }
}
