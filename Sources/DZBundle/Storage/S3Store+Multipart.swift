import DZSystem

/// Multipart upload: CreateMultipartUpload, one UploadPart per part in order (each carrying its own SHA-256, and
/// answering with the ETag that CompleteMultipartUpload lists), then CompleteMultipartUpload. Any failure, the
/// caller's cancellation included, aborts the upload so that no parts are left behind to be billed.
extension S3Store {
    func putMultipart(_ source: OpenFile, checksums: UploadChecksums, objectKey: String, url: String) async throws {
        // A task of its own, so that the caller's cancellation cannot cut the answer off after the server made the
        // upload: an upload whose id never came back could never be aborted. A cancellation is seen right after.
        let created = try await Task {
            try await send(
                .post, "CreateMultipartUpload \(url)", objectKey: objectKey, query: [("uploads", "")],
                headers: ["x-amz-meta-sha256: \(checksums.whole)", "Content-Type: application/octet-stream"])
        }.value
        guard created.isSuccess, let uploadID = S3XMLElement.parse(created.body)?["UploadId"].flatMap(nonEmpty)
        else { throw failure(created, operation: "CreateMultipartUpload \(url)") }
        do {
            try Task.checkCancellation()
            var etags: [String] = []
            for (index, partSHA256) in checksums.parts.enumerated() {
                let number = index + 1
                let (offset, length) = checksums.range(ofPart: index)
                let operation = "UploadPart \(number)/\(checksums.parts.count) \(url)"
                let response = try await send(
                    .put, operation, objectKey: objectKey,
                    query: [("partNumber", "\(number)"), ("uploadId", uploadID)], payloadSHA256: partSHA256,
                    body: .file(source, offset: offset, length: length))
                guard response.isSuccess else { throw failure(response, operation: operation) }
                guard response.sentSHA256 == partSHA256 else { throw BundleStoreError.sourceChanged(path: source.path) }
                guard let etag = response.headers["etag"], !etag.isEmpty else {
                    throw BundleStoreError.malformedResponse(operation: operation, detail: "no ETag header")
                }
                etags.append(etag)
            }
            try await complete(uploadID: uploadID, etags: etags, objectKey: objectKey, url: url)
        } catch {
            await abort(uploadID: uploadID, objectKey: objectKey, url: url)
            throw error
        }
    }

    private func complete(uploadID: String, etags: [String], objectKey: String, url: String) async throws {
        let parts = etags.enumerated().map { index, etag in
            "<Part><PartNumber>\(index + 1)</PartNumber><ETag>\(S3XMLElement.escape(etag))</ETag></Part>"
        }
        let document = Array(("<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                + parts.joined() + "</CompleteMultipartUpload>").utf8)
        let operation = "CompleteMultipartUpload \(url)"
        let response = try await send(
            .post, operation, objectKey: objectKey, query: [("uploadId", uploadID)],
            payloadSHA256: SHA256Digest.hash(document), headers: ["Content-Type: application/xml"],
            body: .bytes(document))
        // S3 can answer 200 and still fail: the error is then in the body. (The result's element is
        // CompleteMultipartUploadResult on AWS, CompleteMultipartUploadResponse on moto.)
        guard response.isSuccess, let root = S3XMLElement.parse(response.body), root.name != "Error" else {
            throw failure(response, operation: operation)
        }
    }

    /// AbortMultipartUpload, best effort: run even when the calling task is cancelled, failures only logged.
    private func abort(uploadID: String, objectKey: String, url: String) async {
        let operation = "AbortMultipartUpload \(url)"
        // A task of its own (awaited here) so that the caller's cancellation does not cancel the clean-up too.
        let outcome = await Task {
            try await send(.delete, operation, objectKey: objectKey, query: [("uploadId", uploadID)])
        }.result
        switch outcome {
        case .success(let response) where response.isSuccess || response.status == 404:
            logger.debug("aborted multipart upload", metadata: ["url": "\(url)"])
        case .success(let response):
            logger.info("could not abort multipart upload", metadata: [
                "url": "\(url)", "error": "\(failure(response, operation: operation))",
            ])
        case .failure(let error):
            logger.info("could not abort multipart upload", metadata: ["url": "\(url)", "error": "\(error)"])
        }
    }
}
