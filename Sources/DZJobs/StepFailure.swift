/// Thrown by a step's `recording` closure to fail a step whose task succeeded, with a kind and a message of its
/// own (any other error fails it as `record`, "could not record the step's output"). The step keeps its output:
/// `manage` fails its step this way when the command exited non-zero, so that the output stays visible.
public struct StepFailure: Error, Equatable, Sendable, CustomStringConvertible {
    /// A stable word for programs, as a task failure's kind.
    public var kind: String
    /// For people.
    public var message: String

    public init(kind: String, message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(kind): \(message)" }
}
