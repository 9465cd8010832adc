/// How S3 transfers are cut up and when a stalled one is given up.
public struct S3TransferSettings: Sendable, Equatable {
    /// S3 refuses parts below 5 MiB (all but the last).
    public static let minimumPartSize: Int64 = 5 << 20
    /// S3 allows at most 10,000 parts: bigger files get bigger parts.
    public static let maximumPartCount: Int64 = 10_000

    /// Files of at least this many bytes are sent as a multipart upload (default 16 MiB).
    public var multipartThreshold: Int64
    /// The size of each part but the last (default 8 MiB; at least 5 MiB).
    public var partSize: Int64
    /// Seconds to wait for a TCP (and TLS) connection.
    public var connectTimeout: Double
    /// A transfer slower than `stallSpeed` bytes per second for this many seconds is abandoned, so that a server
    /// that stops answering gives an error instead of a hang.
    public var stallTimeout: Double
    public var stallSpeed: Int
    /// Keys asked for per ListObjectsV2 page (S3 returns at most 1,000).
    public var listPageSize: Int

    public init(multipartThreshold: Int64 = 16 << 20, partSize: Int64 = 8 << 20, connectTimeout: Double = 10,
                stallTimeout: Double = 30, stallSpeed: Int = 1024, listPageSize: Int = 1000)
    {
        self.listPageSize = listPageSize
        self.multipartThreshold = multipartThreshold
        self.partSize = partSize
        self.connectTimeout = connectTimeout
        self.stallTimeout = stallTimeout
        self.stallSpeed = stallSpeed
    }

    /// Throws unless S3 would accept transfers cut this way.
    func validate(for location: String) throws(BundleStoreError) {
        guard partSize >= Self.minimumPartSize, partSize <= 5 << 30 else {
            throw .invalidLocation(location, reason: "part size must be between 5 MiB and 5 GiB")
        }
        guard multipartThreshold >= 0 else { throw .invalidLocation(location, reason: "negative multipart threshold") }
        guard (1...1000).contains(listPageSize) else {
            throw .invalidLocation(location, reason: "list page size must be between 1 and 1000")
        }
        guard connectTimeout > 0, stallTimeout > 0, stallSpeed > 0 else {
            throw .invalidLocation(location, reason: "time-outs and the stall speed must be positive")
        }
    }

    /// The part size for a file of `size` bytes: `partSize`, or more when that would need over 10,000 parts.
    func partSize(forFileOf size: Int64) -> Int64 {
        let needed = (size + Self.maximumPartCount - 1) / Self.maximumPartCount
        return max(partSize, (needed + (1 << 20) - 1) / (1 << 20) * (1 << 20))
    }
}
