import DZSystem
import Logging

/// Bundles in an S3 bucket under a prefix (`s3://bucket/prefix`), through libcurl with SigV4.
///
/// The object for `<key>` is `<prefix>/<key>`; its SHA-256 travels as the user metadata `x-amz-meta-sha256`, set
/// at upload and checked at download. Files from `S3TransferSettings.multipartThreshold` up go as a multipart
/// upload (aborted if any step fails). Works with AWS (virtual-hosted URLs) and with S3-compatible servers at a
/// custom endpoint (path-style URLs: `http://127.0.0.1:9000/bucket/key`).
public struct S3Store: BundleStore {
    public let location: S3Location
    let logger: Logger

    /// The SHA-256 of nothing: the payload hash of requests without a body.
    static let emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    public init(location: S3Location, logger: Logger = Logger(label: "dz.storage")) {
        self.location = location
        self.logger = logger
    }

    public func put(file localPath: String, key: String) async throws -> StoredObject {
        try StorageKey.validate(key)
        let source = try fileSystem("open", localPath) { () throws(Errno) in try OpenFile.openForReading(localPath) }
        let size = try fileSystem("read", localPath) { () throws(Errno) in try source.regularFileSize() }
        let transfer = location.transfer
        let multipart = size > 0 && size >= transfer.multipartThreshold
        let partSize = multipart ? transfer.partSize(forFileOf: size) : Int64.max
        let checksums = try await BlockingCall.run { try UploadChecksums.compute(source, partSize: partSize) }
        let objectKey = StorageKey.join(location.prefix, key)
        let url = location.url(ofKey: key)
        let started = ContinuousClock.now
        if multipart {
            try await putMultipart(source, checksums: checksums, objectKey: objectKey, url: url)
        } else {
            let response = try await send(
                .put, "PUT \(url)", objectKey: objectKey, payloadSHA256: checksums.whole,
                headers: ["x-amz-meta-sha256: \(checksums.whole)", "Content-Type: application/octet-stream"],
                body: .file(source, offset: 0, length: checksums.size))
            guard response.isSuccess else { throw failure(response, operation: "PUT \(url)") }
            if response.sentSHA256 != checksums.whole {
                try? await delete(objectKey: objectKey, url: url)
                throw BundleStoreError.sourceChanged(path: localPath)
            }
        }
        logger.debug("stored bundle", metadata: [
            "url": "\(url)", "size": "\(checksums.size)", "parts": "\(multipart ? checksums.parts.count : 0)",
            "seconds": "\(ContinuousClock.now - started)",
        ])
        return StoredObject(key: key, size: checksums.size, sha256: checksums.whole, url: url)
    }

    public func get(key: String, to localPath: String, expectedSHA256: String?) async throws -> StoredObject {
        try StorageKey.validate(key)
        let url = location.url(ofKey: key)
        let temporary = DirectoryStore.temporaryName(beside: localPath, kind: "part")
        let file = try fileSystem("create", temporary) { () throws(Errno) in try OpenFile.create(temporary) }
        var committed = false
        defer { if !committed { try? FileSystem.unlink(temporary) } }
        let response = try await send(.get, "GET \(url)", objectKey: StorageKey.join(location.prefix, key),
                                      sink: .file(file))
        guard response.isSuccess, let actual = response.receivedSHA256 else {
            throw failure(response, operation: "GET \(url)", key: key)
        }
        let recorded = response.headers["x-amz-meta-sha256"].flatMap { SHA256Digest.isHex($0) ? $0 : nil }
        if let expected = expectedSHA256?.lowercased() ?? recorded, expected != actual {
            throw BundleStoreError.checksumMismatch(key: key, expected: expected, actual: actual)
        }
        try await BlockingCall.run { () throws(BundleStoreError) in
            try fileSystem("fsync", temporary) { () throws(Errno) in
                try file.sync()
                try file.close()
            }
            try fileSystem("rename", localPath) { () throws(Errno) in try FileSystem.rename(temporary, localPath) }
        }
        committed = true
        return StoredObject(key: key, size: response.received, sha256: actual, url: url)
    }

    public func head(key: String) async throws -> StoredObject? {
        try StorageKey.validate(key)
        let url = location.url(ofKey: key)
        let response = try await send(.head, "HEAD \(url)", objectKey: StorageKey.join(location.prefix, key))
        if response.status == 404 { return nil }
        guard response.isSuccess else { throw failure(response, operation: "HEAD \(url)") }
        guard let length = response.headers["content-length"].flatMap({ Int64($0) }) else {
            throw BundleStoreError.malformedResponse(operation: "HEAD \(url)", detail: "no Content-Length")
        }
        let recorded = response.headers["x-amz-meta-sha256"].flatMap { SHA256Digest.isHex($0) ? $0 : nil }
        return StoredObject(key: key, size: length, sha256: recorded, url: url)
    }

    public func delete(key: String) async throws {
        try StorageKey.validate(key)
        try await delete(objectKey: StorageKey.join(location.prefix, key), url: location.url(ofKey: key))
    }

    func delete(objectKey: String, url: String) async throws {
        let response = try await send(.delete, "DELETE \(url)", objectKey: objectKey)
        // S3 answers 204 for a key that does not exist; some servers answer 404.
        guard response.isSuccess || (response.status == 404 && S3ErrorBody(response.body).code != "NoSuchBucket")
        else { throw failure(response, operation: "DELETE \(url)") }
    }

    /// Sends one signed request to the bucket (or to `objectKey` in it).
    ///
    /// curl 7.88 signs but does not send `x-amz-content-sha256`, which S3 requires: it is added here, the hash of
    /// the body (`payloadSHA256`, by default that of an empty body). The session token, when there is one, goes
    /// in `x-amz-security-token`, which curl then signs like every `x-amz-*` header.
    func send(_ method: CurlRequest.Method, _ operation: String, objectKey: String? = nil,
              query: [(String, String)] = [], payloadSHA256: String = S3Store.emptySHA256, headers: [String] = [],
              body: CurlRequest.Body = .empty, sink: CurlRequest.Sink = .memory) async throws -> CurlRequest.Response
    {
        var allHeaders = headers + ["x-amz-content-sha256: \(payloadSHA256)"]
        if let token = location.credentials.sessionToken { allHeaders.append("x-amz-security-token: \(token)") }
        let request = CurlRequest(
            method, url: location.httpURL(objectKey: objectKey, query: query), headers: allHeaders,
            signing: CurlRequest.Signing(region: location.region, credentials: location.credentials),
            transfer: location.transfer, operation: operation, body: body, sink: sink)
        return try await request.perform()
    }
}
