import DZSystem
import SystemPackage

/// What can go wrong in the spool, each with a message for the person reading it.
public enum SpoolError: Error, Equatable, CustomStringConvertible {
    case invalidQueueName(String)
    case invalidTaskID(String)
    case invalidHostID(String)
    /// A task file that cannot be accepted, with the reason.
    case badTask(BadInput)
    /// A task with this id is already waiting in the queue.
    case duplicateID(TaskID, QueueName)
    /// A system call failed on a path.
    case system(Errno, operation: String, path: String)
    case notFound(String)

    public var description: String {
        switch self {
        case .invalidQueueName(let name):
            "invalid queue name \(quoted(name)): use [a-z0-9][a-z0-9_.-]*, at most 64 characters"
        case .invalidTaskID(let id):
            "invalid task id \(quoted(id)): use [A-Za-z0-9._-], 1 to 128 characters, not starting with a dot"
        case .invalidHostID(let id):
            "invalid host id \(quoted(id)): use [A-Za-z0-9._-], 1 to 64 characters, not starting with a dot"
        case .badTask(let bad): bad.description
        case .duplicateID(let id, let queue): "a task with id \(id) is already waiting in queue \(queue)"
        case .system(let errno, let operation, let path): "\(operation) \(path): \(errno.description)"
        case .notFound(let what): "not found: \(what)"
        }
    }
}

private func quoted(_ text: String) -> String {
    "\"" + String(text.prefix(200)).unicodeScalars.map { $0.isASCII && $0.value >= 32 ? String($0) : "?" }.joined() + "\""
}

extension SpoolError {
    /// Whether this is the spool failing to take a write (a full disk or quota, an I/O error, a read-only or
    /// forbidden directory): a fault of the place, not of the file, that passes when the place is mended.
    public var isWriteFailure: Bool {
        guard case .system(let errno, _, _) = self else { return false }
        return [.noSpace, .diskQuotaExceeded, .ioError, .readOnlyFileSystem, .permissionDenied, .notPermitted]
            .contains(errno)
    }
}

/// Why a file in a queue is bad input. `kind` is a stable word for scripts; the description is for people.
public struct BadInput: Error, Equatable, CustomStringConvertible, Sendable {
    public var kind: String
    public var message: String

    public init(_ kind: String, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

extension Errno {
    /// Wraps a system error with what was being done and where.
    func at(_ operation: String, _ path: String) -> SpoolError { .system(self, operation: operation, path: path) }
}
