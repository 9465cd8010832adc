import DZSystem

/// Why a bundle store operation failed, each with a message for the job log. Messages never carry credentials.
public enum BundleStoreError: Error, Equatable, CustomStringConvertible {
    /// No object has this key.
    case notFound(key: String)
    /// The bytes received (or stored) do not have the SHA-256 they should.
    case checksumMismatch(key: String, expected: String, actual: String)
    /// The server refused the credentials or the request (HTTP 403): a wrong secret, an unknown access key, an
    /// expired session token, or a policy that does not allow the operation.
    case accessDenied(operation: String, code: String, message: String)
    /// Any other HTTP failure, with S3's error code and message when the body carried them.
    case httpStatus(operation: String, status: Int, code: String?, message: String?)
    /// The request never got an HTTP answer: connection refused, DNS, TLS, time-out; with curl's message.
    case transport(operation: String, curlCode: Int, message: String)
    /// The server answered with something that is not what S3 sends.
    case malformedResponse(operation: String, detail: String)
    /// A key (or list prefix) that dz refuses: see `StorageKey`.
    case invalidKey(String, reason: String)
    /// A storage location that cannot be used.
    case invalidLocation(String, reason: String)
    /// The local file changed while it was being uploaded.
    case sourceChanged(path: String)
    /// A local file system failure.
    case filesystem(operation: String, path: String, Errno)

    public var description: String {
        switch self {
        case .notFound(let key):
            "bundle store: no object \(key)"
        case .checksumMismatch(let key, let expected, let actual):
            "bundle store: checksum mismatch for \(key): expected sha256 \(expected), got \(actual)"
        case .accessDenied(let operation, let code, let message):
            "\(operation): access denied (\(code)): \(message) — check the access key id, the secret access key "
                + "(and session token), and the bucket policy"
        case .httpStatus(let operation, let status, let code, let message):
            "\(operation): HTTP \(status)" + (code.map { " \($0)" } ?? "") + (message.map { ": \($0)" } ?? "")
        case .transport(let operation, let curlCode, let message):
            "\(operation): \(message) (curl error \(curlCode))"
        case .malformedResponse(let operation, let detail):
            "\(operation): unexpected response: \(detail)"
        case .invalidKey(let key, let reason):
            "invalid storage key \"\(key.prefix(200))\": \(reason)"
        case .invalidLocation(let location, let reason):
            "invalid storage location \"\(location.prefix(200))\": \(reason)"
        case .sourceChanged(let path):
            "\(path) changed while it was being uploaded"
        case .filesystem(let operation, let path, let errno):
            "\(operation) \(path): \(errno)"
        }
    }
}
