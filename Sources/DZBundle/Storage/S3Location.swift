/// A bucket and prefix with everything needed to reach them: `s3://bucket/prefix` plus endpoint, region,
/// credentials and transfer settings.
public struct S3Location: Sendable, Equatable {
    public var bucket: String
    /// The key prefix inside the bucket, without leading or trailing slash; empty for the whole bucket.
    public var prefix: String
    /// An S3-compatible server (`http://127.0.0.1:9000`), addressed path-style; nil for AWS itself.
    public var endpoint: String?
    public var region: String
    public var credentials: S3Credentials
    public var transfer: S3TransferSettings

    /// Checks every part: bucket name, prefix, endpoint, transfer settings.
    public init(bucket: String, prefix: String = "", endpoint: String? = nil, region: String = "us-east-1",
                credentials: S3Credentials, transfer: S3TransferSettings = S3TransferSettings()) throws(BundleStoreError)
    {
        let trimmed = String(prefix.drop(while: { $0 == "/" }).reversed().drop(while: { $0 == "/" }).reversed())
        let display = "s3://\(bucket)/\(trimmed)"
        try Self.validateBucket(bucket, in: display)
        if !trimmed.isEmpty {
            do {
                try StorageKey.validate(trimmed)
            } catch {
                throw .invalidLocation(display, reason: "prefix: \(error.description)")
            }
        }
        let normalizedEndpoint = try endpoint.map { endpoint throws(BundleStoreError) in
            try Self.validateEndpoint(endpoint, in: display)
        }
        guard !region.isEmpty, region.utf8.allSatisfy({ isRegionByte($0) }) else {
            throw .invalidLocation(display, reason: "bad region \"\(region.prefix(64))\"")
        }
        guard !credentials.accessKeyID.isEmpty, !credentials.secretAccessKey.isEmpty,
              !"\(credentials.accessKeyID)\(credentials.secretAccessKey)\(credentials.sessionToken ?? "")"
                  .contains(where: { $0 == "\n" || $0 == "\r" })
        else { throw .invalidLocation(display, reason: "empty or malformed credentials") }
        try transfer.validate(for: display)
        self.bucket = bucket
        self.prefix = trimmed
        self.endpoint = normalizedEndpoint
        self.region = region
        self.credentials = credentials
        self.transfer = transfer
    }

    /// `s3://bucket/prefix`.
    public var url: String { prefix.isEmpty ? "s3://\(bucket)" : "s3://\(bucket)/\(prefix)" }

    /// `s3://bucket/prefix/key` for a store key.
    func url(ofKey key: String) -> String { "s3://\(bucket)/\(StorageKey.join(prefix, key))" }

    /// The HTTP URL of the bucket, or of `objectKey` in it (a full key, prefix included), with `query` encoded the
    /// way SigV4 signs it: curl 7.88 signs the query string exactly as given, so it must already be canonical
    /// (sorted, every byte but the unreserved ones percent-encoded, `/` included, and `name=` for empty values).
    func httpURL(objectKey: String? = nil, query: [(String, String)] = []) -> String {
        var url: String
        if let endpoint {
            url = "\(endpoint)/\(bucket)"
        } else if bucket.contains(".") {
            // Dotted names do not match the wildcard certificate of virtual-hosted addresses.
            url = "https://s3.\(region).amazonaws.com/\(bucket)"
        } else {
            url = "https://\(bucket).s3.\(region).amazonaws.com"
        }
        if let objectKey { url += "/" + objectKey } else if endpoint == nil, !bucket.contains(".") { url += "/" }
        if !query.isEmpty { url += "?" + Self.canonicalQuery(query) }
        return url
    }

    /// The SigV4 canonical form of a query: pairs sorted by encoded name then value, joined by `&`.
    static func canonicalQuery(_ pairs: [(String, String)]) -> String {
        pairs.map { (uriEncode($0.0), uriEncode($0.1)) }
            .sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// SigV4's UriEncode: every byte but `A-Z a-z 0-9 - _ . ~` as `%XX` with uppercase hex.
    static func uriEncode(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                 UInt8(ascii: "~"):
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// S3's bucket naming rules: 3-63 characters of `a-z 0-9 . -`, starting and ending with a letter or digit, no
    /// `..`, `.-` or `-.`, and not shaped like an IP address.
    static func validateBucket(_ bucket: String, in location: String) throws(BundleStoreError) {
        let bytes = Array(bucket.utf8)
        func refuse(_ reason: String) -> BundleStoreError { .invalidLocation(location, reason: "bucket name \(reason)") }
        guard (3...63).contains(bytes.count) else { throw refuse("must be 3 to 63 characters long") }
        let isLowerOrDigit = { (b: UInt8) in (97...122).contains(b) || (48...57).contains(b) }
        guard bytes.allSatisfy({ isLowerOrDigit($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }) else {
            throw refuse("may hold only lowercase letters, digits, '.' and '-'")
        }
        guard isLowerOrDigit(bytes.first!), isLowerOrDigit(bytes.last!) else {
            throw refuse("must start and end with a letter or digit")
        }
        guard !bucket.contains(".."), !bucket.contains(".-"), !bucket.contains("-.") else {
            throw refuse("may not contain '..', '.-' or '-.'")
        }
        let parts = bucket.split(separator: ".")
        guard !(parts.count == 4 && parts.allSatisfy({ $0.allSatisfy(\.isNumber) })) else {
            throw refuse("may not look like an IP address")
        }
    }

    /// `http(s)://host[:port]` with no path, query or credentials; returned without a trailing slash.
    static func validateEndpoint(_ endpoint: String, in location: String) throws(BundleStoreError) -> String {
        var trimmed = Substring(endpoint)
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        let rest: Substring
        if trimmed.hasPrefix("http://") {
            rest = trimmed.dropFirst(7)
        } else if trimmed.hasPrefix("https://") {
            rest = trimmed.dropFirst(8)
        } else {
            throw .invalidLocation(location, reason: "endpoint must start with http:// or https://")
        }
        guard !rest.isEmpty, !rest.contains(where: { "/?#@ \\\"\n\r\t".contains($0) }), rest.allSatisfy(\.isASCII) else {
            throw .invalidLocation(location, reason: "endpoint must be a bare http(s)://host[:port]")
        }
        return String(trimmed)
    }
}

private func isRegionByte(_ byte: UInt8) -> Bool {
    (97...122).contains(byte) || (48...57).contains(byte) || byte == UInt8(ascii: "-")
}
