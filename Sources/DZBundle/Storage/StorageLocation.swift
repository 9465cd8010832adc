import Foundation
import Logging

/// Where a `BundleStore` keeps bundles, parsed from a URL: `file:///var/lib/dz/bundles` (the embedded default) or
/// `s3://bucket/prefix`.
///
/// For S3, each setting comes from the explicit `S3Options` first, then from the standard variables:
/// `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL` (an S3-compatible server, addressed path-style),
/// `AWS_REGION` or `AWS_DEFAULT_REGION` (else `us-east-1`), and `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`. Shared credential files and instance roles are not read.
public enum StorageLocation: Sendable, Equatable {
    /// Bundles as files under this absolute directory.
    case directory(String)
    case s3(S3Location)

    /// The embedded default.
    public static let defaultURL = "file:///var/lib/dz/bundles"

    /// Parses `text`; `environment` defaults to this process's.
    public init(_ text: String, s3 options: S3Options = S3Options(),
                environment: [String: String] = ProcessInfo.processInfo.environment) throws(BundleStoreError)
    {
        if text.hasPrefix("file://") {
            self = .directory(try Self.directoryPath(text))
        } else if text.hasPrefix("/") {
            self = .directory(try Self.directoryPath("file://" + text))
        } else if text.hasPrefix("s3://") {
            self = .s3(try Self.s3Location(text, options: options, environment: environment))
        } else {
            throw .invalidLocation(text, reason: "expected file:///path or s3://bucket/prefix")
        }
    }

    /// The store for `location`: a `DirectoryStore` or an `S3Store`.
    public static func store(for location: StorageLocation,
                             logger: Logger = Logger(label: "dz.storage")) -> any BundleStore
    {
        switch location {
        case .directory(let path): DirectoryStore(root: path, logger: logger)
        case .s3(let s3): S3Store(location: s3, logger: logger)
        }
    }

    /// The location as a URL (never with credentials).
    public var url: String {
        switch self {
        case .directory(let path): "file://" + path
        case .s3(let s3): s3.url
        }
    }

    private static func directoryPath(_ text: String) throws(BundleStoreError) -> String {
        var path = Substring(text.dropFirst("file://".count))
        if path.hasPrefix("localhost/") { path = path.dropFirst("localhost".count) }
        guard path.hasPrefix("/") else {
            throw .invalidLocation(text, reason: "a file: URL needs an absolute path on this host (file:///path)")
        }
        guard !path.contains("\0"), !path.contains("?"), !path.contains("#"), !path.contains("%") else {
            throw .invalidLocation(text, reason: "the path may not contain NUL, '?', '#' or '%'")
        }
        guard !path.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }) else {
            throw .invalidLocation(text, reason: "the path may not contain . or .. segments")
        }
        while path.count > 1, path.hasSuffix("/") { path = path.dropLast() }
        return String(path)
    }

    private static func s3Location(_ text: String, options: S3Options,
                                   environment: [String: String]) throws(BundleStoreError) -> S3Location
    {
        let rest = text.dropFirst("s3://".count)
        let bucket = String(rest.prefix(while: { $0 != "/" }))
        let prefix = String(rest.dropFirst(bucket.count))
        guard let credentials = options.credentials ?? S3Credentials.fromEnvironment(environment) else {
            throw .invalidLocation(text, reason: "no S3 credentials: give them in the configuration or set "
                                       + "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
        let endpoint = nonEmpty(options.endpoint) ?? nonEmpty(environment["AWS_ENDPOINT_URL_S3"])
            ?? nonEmpty(environment["AWS_ENDPOINT_URL"])
        let region = nonEmpty(options.region) ?? nonEmpty(environment["AWS_REGION"])
            ?? nonEmpty(environment["AWS_DEFAULT_REGION"]) ?? "us-east-1"
        return try S3Location(bucket: bucket, prefix: prefix, endpoint: endpoint, region: region,
                              credentials: credentials, transfer: options.transfer)
    }
}
