/// A project's id. It becomes a directory name, a unix user, a database and role name and part of nginx names
/// later, so it is strict: `[a-z][a-z0-9_]*`, at most 30 characters.
public struct ProjectID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: String

    public init(_ text: String) throws(BadInput) {
        guard ProjectID.isValid(text) else {
            throw BadInput("field", "invalid project id \"\(String(text.prefix(40)))\": use [a-z][a-z0-9_]*, at most 30 characters")
        }
        rawValue = text
    }

    public static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...30).contains(bytes.count), (97...122).contains(bytes[0]) else { return false }
        return bytes.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == UInt8(ascii: "_") }
    }

    public var description: String { rawValue }
    public static func < (a: ProjectID, b: ProjectID) -> Bool { a.rawValue < b.rawValue }
}
