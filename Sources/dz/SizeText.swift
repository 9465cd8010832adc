/// `12.3M`: a byte count in binary units, one decimal.
func sizeText(_ bytes: UInt64) -> String {
    let units = ["B", "K", "M", "G", "T"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024, unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return format1(value) + units[unit]
}
