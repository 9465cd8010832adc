/// A message that does not keep its task's contract: a key missing, of the wrong type or out of range. The
/// message names the key, as a task's `bad-args` failure shows it.
public struct ContractViolation: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
