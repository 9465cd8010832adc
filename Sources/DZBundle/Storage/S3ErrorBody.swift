/// The `<Error><Code>…</Code><Message>…</Message></Error>` document S3 answers a failed request with.
struct S3ErrorBody {
    var code: String?
    var message: String?

    init(_ body: [UInt8]) {
        guard !body.isEmpty, let root = S3XMLElement.parse(body), root.name == "Error" else { return }
        code = root["Code"].flatMap(nonEmpty)
        message = root["Message"].flatMap(nonEmpty)
    }
}

extension S3Store {
    /// The codes with which S3 refuses credentials or permissions.
    static let accessDeniedCodes: Set<String> = [
        "AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId", "InvalidToken", "ExpiredToken",
        "InvalidClientTokenId", "AllAccessDisabled", "AccountProblem",
    ]

    /// The error for a response that did not succeed: `notFound` for a missing `key`, `accessDenied` for refused
    /// credentials, `httpStatus` with S3's code and message otherwise.
    func failure(_ response: CurlRequest.Response, operation: String, key: String? = nil) -> BundleStoreError {
        let error = S3ErrorBody(response.body)
        if let key, response.status == 404, error.code == nil || error.code == "NoSuchKey" {
            return .notFound(key: key)
        }
        if response.status == 403 || error.code.map(Self.accessDeniedCodes.contains) == true {
            return .accessDenied(operation: operation, code: error.code ?? "HTTP \(response.status)",
                                 message: error.message ?? "the server refused the request without details")
        }
        if !response.isSuccess || error.code != nil {
            let text = String(decoding: response.body.prefix(300), as: UTF8.self)
            return .httpStatus(operation: operation, status: response.status, code: error.code,
                               message: error.message ?? (text.isEmpty || text.hasPrefix("<") ? nil : text))
        }
        let text = String(decoding: response.body.prefix(200), as: UTF8.self)
        return .malformedResponse(operation: operation,
                                  detail: "HTTP \(response.status) without the expected body: \"\(text)\"")
    }
}
