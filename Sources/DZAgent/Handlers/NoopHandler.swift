import DZSpool

/// `noop`: does nothing and succeeds. For smoke tests and benchmarks.
public struct NoopHandler: TaskHandler {
    public let name = "noop"
    public init() {}

    public func run(_ context: TaskContext) async throws -> [String: JSONValue] { [:] }
}
