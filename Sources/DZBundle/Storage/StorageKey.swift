/// The rules for keys and list prefixes, the same for every store.
///
/// A key is one or more `/`-separated segments of ASCII letters, digits, `.`, `_` and `-`, at most 1024 bytes.
/// Refused: a leading or trailing `/`, empty segments, `..` anywhere, segments starting with `.` (the directory
/// store's temporary files are hidden names), and names ending in `.sha256` (its checksum files). The subset is
/// deliberately small: every allowed character means the same thing in a file name, a URL path and a SigV4
/// canonical request, so no key needs escaping anywhere.
public enum StorageKey {
    /// The longest key S3 accepts.
    public static let maximumLength = 1024

    /// Throws `BundleStoreError.invalidKey` unless `key` follows the rules above.
    public static func validate(_ key: String) throws(BundleStoreError) {
        guard !key.isEmpty else { throw .invalidKey(key, reason: "empty") }
        try checkCharacters(key)
        guard !key.hasSuffix("/") else { throw .invalidKey(key, reason: "ends with /") }
        for segment in key.split(separator: "/", omittingEmptySubsequences: false) {
            guard !segment.isEmpty else { throw .invalidKey(key, reason: "empty path segment") }
            guard !segment.hasPrefix(".") else { throw .invalidKey(key, reason: "a segment starts with .") }
        }
        guard !key.hasSuffix(".sha256") else {
            throw .invalidKey(key, reason: "names ending in .sha256 are reserved for checksums")
        }
    }

    /// Throws `BundleStoreError.invalidKey` unless `prefix` could begin a valid key (the empty prefix is valid).
    public static func validatePrefix(_ prefix: String) throws(BundleStoreError) {
        guard !prefix.isEmpty else { return }
        try checkCharacters(prefix)
        guard !prefix.contains("//") else { throw .invalidKey(prefix, reason: "empty path segment") }
    }

    /// `key` joined to a store's `prefix` (which has no trailing slash; empty for none).
    static func join(_ prefix: String, _ key: String) -> String {
        prefix.isEmpty ? key : prefix + "/" + key
    }

    private static func checkCharacters(_ text: String) throws(BundleStoreError) {
        guard text.utf8.count <= maximumLength else {
            throw .invalidKey(text, reason: "longer than \(maximumLength) bytes")
        }
        guard text.utf8.allSatisfy(isAllowed) else {
            throw .invalidKey(text, reason: "only ASCII letters, digits, '.', '_', '-' and '/' are allowed")
        }
        guard !text.hasPrefix("/") else { throw .invalidKey(text, reason: "starts with /") }
        guard !text.contains("..") else { throw .invalidKey(text, reason: "contains ..") }
    }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"),
             UInt8(ascii: "/"):
            true
        default:
            false
        }
    }
}
