import DZAgent
import DZSystem

/// Why a proxy step failed, each with a message for the job log and a `TaskFailure` for the task's result.
public enum ProxyError: Error, Equatable, CustomStringConvertible {
    /// A task argument that cannot go into an nginx configuration: the argument and why.
    case invalid(field: String, String)
    /// This host's proxy settings (flags or environment) cannot be used.
    case badSettings(String)
    /// The nginx program is not on `PATH` (or not at the path given).
    case nginxNotFound(String)
    /// nginx could not be started (a resource limit, a permission); why.
    case nginxFailed(String)
    /// `nginx -t` refused the configuration; nginx's own message.
    case configTest(String)
    /// `nginx -s reload` failed; nginx's own message.
    case reload(String)
    /// An nginx command ran past its time limit.
    case timedOut(command: String, seconds: Double)
    /// The task was cancelled while nginx ran or while it waited for another update.
    case cancelled(String)
    /// Another update held the sites directory's lock for longer than the wait.
    case busy(lock: String, seconds: Double)
    /// The bundle is not in the bundle store.
    case bundleNotFound(key: String)
    /// The bundle's bytes are not the ones named by the task or its stored manifest.
    case checksum(String)
    /// Any other bundle store failure (network, permissions), worth another try.
    case storage(String)
    /// The bundle or its manifest cannot be read or extracted.
    case bundle(String)
    /// A static directory the task maps is not a directory of the bundle.
    case staticMissing(path: String, bundle: String)
    /// A certificate or key that cannot be used: what is wrong (never the key itself).
    case certificate(String)
    /// The ACME client failed to obtain a certificate: its last lines.
    case acme(String)
    /// A local file system failure.
    case filesystem(operation: String, path: String, Errno)

    public var description: String {
        switch self {
        case .invalid(let field, let why): "argument \"\(field)\": \(why)"
        case .badSettings(let why): "proxy settings: \(why)"
        case .nginxNotFound(let program): "\(program): not found: install nginx (apt-get install -y nginx) or set --nginx"
        case .nginxFailed(let why): "cannot run nginx: \(why)"
        case .configTest(let message): "nginx -t refused the configuration: \(message)"
        case .reload(let message): "nginx -s reload failed: \(message)"
        case .timedOut(let command, let seconds): "\(command) did not finish within \(seconds) s"
        case .cancelled(let what): "cancelled while \(what)"
        case .busy(let lock, let seconds): "another proxy update held \(lock) for more than \(seconds) s"
        case .bundleNotFound(let key): "no bundle \(key) in the bundle store"
        case .checksum(let message): message
        case .storage(let message): message
        case .bundle(let message): message
        case .staticMissing(let path, let bundle): "bundle \(bundle) has no directory \"\(path)\" for static files"
        case .certificate(let why): "certificate refused: \(why)"
        case .acme(let why): "ACME: \(why)"
        case .filesystem(let operation, let path, let errno): "\(operation) \(path): \(errno)"
        }
    }

    /// The failure a handler reports: a stable `kind`, and whether another attempt may succeed.
    public var taskFailure: TaskFailure {
        switch self {
        case .invalid: .badArgs(description)
        case .badSettings: TaskFailure(kind: "proxy-settings", message: description, retryable: false)
        case .nginxNotFound: TaskFailure(kind: "nginx-missing", message: description, retryable: false)
        case .nginxFailed: TaskFailure(kind: "nginx", message: description, retryable: true)
        case .configTest: TaskFailure(kind: "nginx-config", message: description, retryable: false)
        case .reload: TaskFailure(kind: "nginx-reload", message: description, retryable: true)
        case .timedOut: TaskFailure(kind: "nginx-timeout", message: description, retryable: true)
        case .cancelled: TaskFailure(kind: "cancelled", message: description, retryable: true)
        case .busy: TaskFailure(kind: "busy", message: description, retryable: true)
        case .bundleNotFound: TaskFailure(kind: "not-found", message: description, retryable: false)
        case .checksum: TaskFailure(kind: "checksum", message: description, retryable: false)
        case .storage: TaskFailure(kind: "storage", message: description, retryable: true)
        case .bundle: TaskFailure(kind: "bundle", message: description, retryable: false)
        case .staticMissing: TaskFailure(kind: "static-missing", message: description, retryable: false)
        case .certificate: TaskFailure(kind: "certificate", message: description, retryable: false)
        case .acme: TaskFailure(kind: "acme", message: description, retryable: true)
        case .filesystem: TaskFailure(kind: "filesystem", message: description, retryable: true)
        }
    }
}
