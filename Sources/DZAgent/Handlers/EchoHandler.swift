import DZSpool

/// `echo`: returns its arguments as its output.
public struct EchoHandler: TaskHandler {
    public let name = "echo"
    public init() {}

    public func run(_ context: TaskContext) async throws -> [String: JSONValue] { context.args }
}
