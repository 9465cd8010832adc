import DZSpool
import Logging

/// The work behind one task name. A handler gets its arguments and returns its output; it knows no job graph,
/// no spool and no other task.
///
/// To add a task: write a type conforming to `TaskHandler` in a file of its own and list it in
/// `HandlerRegistry.standard`.
public protocol TaskHandler: Sendable {
    /// The `task` field this handler serves.
    var name: String { get }

    /// Does the work. Throw `TaskFailure` to fail (retryable or not); any other error is a non-retryable failure.
    /// The task is cancelled (Swift task cancellation) at its time limit, on shutdown, or when its lease is lost:
    /// stop promptly and kill any child process group.
    func run(_ context: TaskContext) async throws -> [String: JSONValue]

    /// Arguments that are secrets (a private key): once the task has ended for good, the agent rewrites its file
    /// with each of them replaced by `"***"` before it goes to `done/` or `failed/`. Empty by default.
    var scrubbedArguments: [String] { get }
}

extension TaskHandler {
    public var scrubbedArguments: [String] { [] }
}

/// What a handler knows of its task.
public struct TaskContext: Sendable {
    public let task: TaskFile
    public let queue: QueueName
    public let host: HostID
    public let logger: Logger

    public init(task: TaskFile, queue: QueueName, host: HostID, logger: Logger) {
        self.task = task
        self.queue = queue
        self.host = host
        self.logger = logger
    }

    public var args: [String: JSONValue] { task.args }

    /// A required string argument.
    public func string(_ key: String) throws(TaskFailure) -> String {
        guard let value = args[key] else { throw .badArgs("missing argument \"\(key)\"") }
        guard case .string(let text) = value else {
            throw .badArgs("argument \"\(key)\" must be a string, not \(value.typeName)")
        }
        return text
    }

    /// An optional string argument.
    public func optionalString(_ key: String) throws(TaskFailure) -> String? {
        guard let value = args[key], value != .null else { return nil }
        return try string(key)
    }

    /// A number argument (a JSON number or a string that spells one), `defaultValue` when absent.
    public func number(_ key: String, default defaultValue: Double? = nil) throws(TaskFailure) -> Double {
        guard let value = args[key], value != .null else {
            if let defaultValue { return defaultValue }
            throw .badArgs("missing argument \"\(key)\"")
        }
        guard let number = value.doubleValue, number.isFinite else {
            throw .badArgs("argument \"\(key)\" must be a number")
        }
        return number
    }
}

/// A task's failure: `kind` is a stable word for programs, `message` is for people, `retryable` says whether
/// another attempt may succeed.
public struct TaskFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var kind: String
    public var message: String
    public var retryable: Bool

    public init(kind: String, message: String, retryable: Bool) {
        self.kind = kind
        self.message = message
        self.retryable = retryable
    }

    public static func badArgs(_ message: String) -> TaskFailure {
        TaskFailure(kind: "bad-args", message: message, retryable: false)
    }

    public static func timeout(_ seconds: Double) -> TaskFailure {
        TaskFailure(kind: "timeout", message: "the task ran past its time limit of \(seconds) s", retryable: true)
    }

    public var description: String { "\(kind): \(message)" }

    var resultFailure: ResultFile.Failure { ResultFile.Failure(kind: kind, message: message) }
}
