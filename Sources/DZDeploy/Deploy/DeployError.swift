import DZAgent
import DZSystem

/// Why deploying, stopping or running an app's hooks failed. Every message is for people and never holds a
/// secret (passwords, the secret key and environment values stay out of them).
public enum DeployError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An appserver setting (flag or variable) is wrong.
    case badSettings(String)
    /// The app's unix user could not be made or found.
    case user(String)
    /// A file system step failed.
    case filesystem(String, path: String, Errno)
    /// The bundle store failed; `retryable` when another attempt may succeed.
    case storage(String, retryable: Bool)
    /// The bundle is not what it should be (checksum, manifest, extraction).
    case bundle(String)
    /// The app's database cannot be used from this host.
    case database(String)
    /// The app server could not be started.
    case launch(String)
    /// The app started but did not answer in time, with the tail of its error log.
    case healthCheck(String)
    /// gunicorn could not listen on its port: another process (another appserver on this host) took it first.
    case portInUse(String)
    /// The app's limits could not be put in place (its control groups).
    case limits(String)
    /// An instance's port is held by a process that is not the instance's: it is not relaunched there.
    case portTaken(String)
    /// A post-deploy hook (`migrate` or `release`) failed, with its output's tail.
    case hook(kind: String, String)
    /// No such instance on this host.
    case unknownInstance(String)
    /// Instances this host does not know, with the message naming them.
    case notFound(String)
    /// The instance is recorded but its gunicorn master is not running (or it is not in state `running`).
    case notRunning(String)
    /// gunicorn's workers did not reach the number asked for in time.
    case workers(String)

    public var description: String {
        switch self {
        case .badSettings(let message): message
        case .user(let message): message
        case .filesystem(let step, let path, let error): "cannot \(step) \(path): \(error)"
        case .storage(let message, _): message
        case .bundle(let message): message
        case .database(let message): message
        case .launch(let message): message
        case .healthCheck(let message): message
        case .portInUse(let endpoint): "gunicorn could not listen on \(endpoint): the port is in use (by another "
            + "appserver's instance on this host? give each one its own --app-ports or --app-address)"
        case .portTaken(let message): message
        case .limits(let message): message
        case .hook(_, let message): message
        case .unknownInstance(let instance): "no instance \(instance) on this host"
        case .notFound(let message): message
        case .notRunning(let message): message
        case .workers(let message): message
        }
    }

    /// The task failure for this error: only storage trouble is worth another attempt.
    public var taskFailure: TaskFailure {
        switch self {
        case .badSettings: TaskFailure(kind: "settings", message: description, retryable: false)
        case .user: TaskFailure(kind: "user", message: description, retryable: false)
        case .filesystem: TaskFailure(kind: "filesystem", message: description, retryable: false)
        case .storage(_, let retryable): TaskFailure(kind: "storage", message: description, retryable: retryable)
        case .bundle: TaskFailure(kind: "bundle", message: description, retryable: false)
        case .database: TaskFailure(kind: "database", message: description, retryable: false)
        case .launch: TaskFailure(kind: "launch", message: description, retryable: false)
        case .healthCheck: TaskFailure(kind: "health-check", message: description, retryable: false)
        // Another attempt takes another port.
        case .portInUse: TaskFailure(kind: "launch", message: description, retryable: true)
        case .portTaken: TaskFailure(kind: "port-taken", message: description, retryable: false)
        case .limits: TaskFailure(kind: "limits", message: description, retryable: false)
        case .hook(let kind, _): TaskFailure(kind: kind, message: description, retryable: false)
        case .unknownInstance: TaskFailure(kind: "not-found", message: description, retryable: false)
        case .notFound: TaskFailure(kind: "not-found", message: description, retryable: false)
        case .notRunning: TaskFailure(kind: "not-running", message: description, retryable: false)
        case .workers: TaskFailure(kind: "workers", message: description, retryable: false)
        }
    }
}
