/// An archive entry's path reduced to its components, or why it cannot name anything inside the target.
enum EntryPath: Equatable {
    /// `.` or `./`: the extraction directory itself.
    case top
    /// Plain names, none of them empty, `.` or `..`.
    case relative([String])
    case refused(ExtractionRefusal)

    /// Splits `text` on `/`, dropping empty and `.` components; absolute paths and `..` components are refused
    /// outright, wherever they are and whatever they would resolve to.
    static func parse(_ text: String) -> EntryPath {
        if text.isEmpty { return .refused(.emptyPath) }
        if text.utf8.first == UInt8(ascii: "/") { return .refused(.absolutePath) }
        var parts: [String] = []
        for part in text.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." { return .refused(.parentComponent) }
            parts.append(String(part))
        }
        return parts.isEmpty ? .top : .relative(parts)
    }
}
