/// A job-level failure: a step's inputs could not be computed, or a request was malformed.
public struct JobError: Error, Equatable, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
