import DZSpool

/// `fail`: fails with `args.message`; retryable when `args.retryable` is true. For tests of failure paths.
public struct FailHandler: TaskHandler {
    public let name = "fail"
    public init() {}

    public func run(_ context: TaskContext) async throws -> [String: JSONValue] {
        let message = try context.optionalString("message") ?? "failed on request"
        let retryable: Bool
        switch context.args["retryable"] {
        case .bool(let flag)?: retryable = flag
        case .string(let text)?: retryable = text == "true" || text == "1" || text == "yes"
        default: retryable = false
        }
        throw TaskFailure(kind: "failed", message: message, retryable: retryable)
    }
}
