import DZSpool
import DZSystem

/// `sleep`: waits `args.seconds` (default 1), then succeeds. Cancellation (time limit, shutdown) ends it early.
public struct SleepHandler: TaskHandler {
    public let name = "sleep"
    public init() {}

    public func run(_ context: TaskContext) async throws -> [String: JSONValue] {
        let seconds = try context.number("seconds", default: 1)
        guard seconds >= 0, seconds <= 86_400 else { throw TaskFailure.badArgs("\"seconds\" must be from 0 to 86400") }
        try await Task.sleep(seconds: seconds)
        return ["slept": .double(seconds)]
    }
}
