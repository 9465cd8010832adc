import DZClient

/// `12.3M`: a byte count in binary units, one decimal.
func sizeText(_ bytes: UInt64) -> String { TextFormat.size(bytes) }
