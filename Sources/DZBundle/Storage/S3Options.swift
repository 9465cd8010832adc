/// S3 settings given explicitly (dz's configuration); each one left nil falls back to the standard `AWS_*`
/// environment variables.
public struct S3Options: Sendable, Equatable {
    /// `http://127.0.0.1:9000` for an S3-compatible server (path-style URLs); nil for AWS itself.
    public var endpoint: String?
    public var region: String?
    public var credentials: S3Credentials?
    public var transfer: S3TransferSettings

    public init(endpoint: String? = nil, region: String? = nil, credentials: S3Credentials? = nil,
                transfer: S3TransferSettings = S3TransferSettings())
    {
        self.endpoint = endpoint
        self.region = region
        self.credentials = credentials
        self.transfer = transfer
    }
}
