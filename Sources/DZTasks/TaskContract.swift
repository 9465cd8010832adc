import DZJSON

/// One task's contract: its name, the arguments a job kind sends and a handler reads, and the output the handler
/// returns and the coordinator reads. Both sides use the same types, so that a field renamed, retyped or dropped
/// on one side is a compile error on the other, and dz(1)'s section on the task is checked against
/// `Arguments.keys` and `Output.keys` (DZTasksTests).
public protocol TaskContract {
    associatedtype Arguments: TaskMessage
    associatedtype Output: TaskMessage
    /// The task file's `task` field.
    static var name: String { get }
}

/// A task's arguments or output as one typed value: read from a task file's (or result's) JSON object, checked
/// as the contract says, and written back as JSON.
public protocol TaskMessage: Sendable {
    /// Reads and checks `object`; keys the contract does not name are ignored (an older or newer sender's).
    init(json object: [String: JSONValue]) throws(ContractViolation)
    /// The message as a task file's `args` or a result's `output`.
    var json: [String: JSONValue] { get }
    /// Every key the message may hold, as dz(1) documents them.
    static var keys: [String] { get }
}
