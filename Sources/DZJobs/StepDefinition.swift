import DZSpool
import DZStore

/// One step of a job kind: which task, on which queue, with which arguments, after which steps, and how it may
/// fail. The coordinator turns it into task files; it never calls a handler.
public struct StepDefinition: Sendable {
    /// What a failed step does to its job.
    public enum FailurePolicy: Sendable {
        /// The job fails: nothing more is dispatched, the compensation steps run.
        case failJob
        /// A warning on the job's log; the job goes on.
        case warn
    }

    public var name: String
    public var after: [String]
    public var task: @Sendable (JobContext) throws(JobError) -> String
    public var queue: @Sendable (JobContext) throws(JobError) -> QueueName
    public var args: @Sendable (JobContext) throws(JobError) -> [String: JSONValue]
    /// When set, one instance per item (an empty list makes the step a no-op).
    public var fanOut: (@Sendable (JobContext) throws(JobError) -> [JSONValue])?
    public var maxAttempts: Int
    public var backoffSeconds: Double
    /// Per attempt; the agent enforces it.
    public var timeoutSeconds: Double
    public var failure: FailurePolicy
    /// Runs only once the job stops (failing or cancelled), to undo what its steps did.
    public var compensation: Bool
    /// Records what a succeeded instance produced (config guesses, a bundle, a deployment) in the zoomdb, in the
    /// same transaction as the step's new state. Throwing fails the step (a `StepFailure` with its own kind and
    /// message, keeping the output).
    public var onSuccess: (@Sendable (JobRecord, StepRecord, ZoomDB) throws -> Void)?
    /// Dispatched and left: the job goes on and may end without waiting for this step's result, and the step has
    /// no deadline, so that its task waits in its queue for as long as it takes (a host that may be gone and come
    /// back). Its result, whenever it comes, is recorded. A detached step's failure is never the job's.
    public var detached = false

    public init(
        _ name: String, after: [String] = [], task: String, queue: QueueName,
        maxAttempts: Int = 3, backoffSeconds: Double = 2, timeoutSeconds: Double = 600,
        failure: FailurePolicy = .failJob, compensation: Bool = false,
        args: @escaping @Sendable (JobContext) throws(JobError) -> [String: JSONValue] = { _ in [:] }
    ) {
        self.name = name
        self.after = after
        self.task = { _ in task }
        self.queue = { _ in queue }
        self.args = args
        self.maxAttempts = maxAttempts
        self.backoffSeconds = backoffSeconds
        self.timeoutSeconds = timeoutSeconds
        self.failure = failure
        self.compensation = compensation
    }

    /// The longest this step can take through every attempt and backoff, before the coordinator gives up on it.
    public var worstCaseSeconds: Double {
        var total = 0.0
        for attempt in 1...max(1, maxAttempts) {
            total += timeoutSeconds + (attempt < maxAttempts ? min(3600, backoffSeconds * Double(1 << min(attempt - 1, 20))) : 0)
        }
        return total
    }
}
