/// Where bundles are kept between the build host that makes them and the app servers that run them: a directory
/// (`file:///var/lib/dz/bundles`, the embedded default) or an S3 bucket (`s3://bucket/prefix`).
///
/// Keys are relative names such as `shop/bundle_shop_2024-05-01-12.00.00.tar.zst` (see `StorageKey` for what is
/// allowed). Files travel between disk and the store in chunks, never whole in memory, and every transfer is
/// checked against a SHA-256.
public protocol BundleStore: Sendable {
    /// Stores the file at `localPath` under `key`, replacing any object of that key.
    ///
    /// Returns the object as stored, with the size and SHA-256 of the bytes that were sent.
    func put(file localPath: String, key: String) async throws -> StoredObject

    /// Fetches `key` into `localPath`: the bytes go to a temporary file beside it, are checked against
    /// `expectedSHA256` (or the checksum recorded with the object when that is nil), and only then are renamed
    /// into place. On a mismatch the temporary file is deleted and `BundleStoreError.checksumMismatch` thrown.
    func get(key: String, to localPath: String, expectedSHA256: String?) async throws -> StoredObject

    /// The object stored under `key`, or nil when there is none.
    func head(key: String) async throws -> StoredObject?

    /// Every object whose key starts with `prefix`, in key order. `sha256` may be nil in the results (S3's
    /// listing does not carry it: `head` does).
    func list(prefix: String) async throws -> [StoredObject]

    /// Removes `key` and its checksum; a key that does not exist is not an error.
    func delete(key: String) async throws
}

extension BundleStore {
    /// Fetches `key` into `localPath`, checked against the checksum recorded with the object.
    public func get(key: String, to localPath: String) async throws -> StoredObject {
        try await get(key: key, to: localPath, expectedSHA256: nil)
    }

    /// Every object in the store.
    public func list() async throws -> [StoredObject] {
        try await list(prefix: "")
    }
}
