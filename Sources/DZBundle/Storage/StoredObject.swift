/// One object in a `BundleStore`.
public struct StoredObject: Sendable, Equatable, Hashable {
    /// The key within the store (without the store's own prefix).
    public var key: String
    /// Size in bytes.
    public var size: Int64
    /// Lowercase hex SHA-256 of the contents, when known.
    public var sha256: String?
    /// Where the object lives: `file:///var/lib/dz/bundles/<key>` or `s3://bucket/prefix/<key>`.
    public var url: String

    public init(key: String, size: Int64, sha256: String?, url: String) {
        self.key = key
        self.size = size
        self.sha256 = sha256
        self.url = url
    }
}
