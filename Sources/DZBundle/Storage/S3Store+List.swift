/// ListObjectsV2, page by page (continuation tokens), keys relative to the store's prefix.
extension S3Store {
    public func list(prefix: String) async throws -> [StoredObject] {
        try StorageKey.validatePrefix(prefix)
        let fullPrefix = location.prefix.isEmpty ? prefix : location.prefix + "/" + prefix
        let strip = location.prefix.isEmpty ? 0 : location.prefix.count + 1
        let operation = "ListObjectsV2 \(location.url)/\(prefix)"
        var found: [StoredObject] = []
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("max-keys", "\(location.transfer.listPageSize)")]
            if !fullPrefix.isEmpty { query.append(("prefix", fullPrefix)) }
            if let token { query.append(("continuation-token", token)) }
            let response = try await send(.get, operation, query: query)
            guard response.isSuccess, let root = S3XMLElement.parse(response.body), root.name == "ListBucketResult"
            else { throw failure(response, operation: operation) }
            for entry in root.children("Contents") {
                guard let objectKey = entry["Key"], objectKey.hasPrefix(fullPrefix), objectKey.count > strip,
                      let size = entry["Size"].flatMap({ Int64($0) })
                else {
                    throw BundleStoreError.malformedResponse(operation: operation, detail: "an entry without Key or Size")
                }
                let key = String(objectKey.dropFirst(strip))
                found.append(StoredObject(key: key, size: size, sha256: nil, url: location.url(ofKey: key)))
            }
            token = root["IsTruncated"] == "true" ? root["NextContinuationToken"].flatMap(nonEmpty) : nil
            if root["IsTruncated"] == "true", token == nil {
                throw BundleStoreError.malformedResponse(operation: operation,
                                                         detail: "truncated listing without NextContinuationToken")
            }
        } while token != nil
        return found.sorted { $0.key < $1.key }
    }
}
