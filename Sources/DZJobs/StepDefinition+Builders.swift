import DZSpool
import DZStore

extension StepDefinition {
    /// The same step with its queue computed from the job (e.g. `appserver_<id>` from placement).
    public func routed(_ compute: @escaping @Sendable (JobContext) throws(JobError) -> QueueName) -> StepDefinition {
        var copy = self
        copy.queue = compute
        return copy
    }

    /// The same step with its task name computed from the job.
    public func running(_ compute: @escaping @Sendable (JobContext) throws(JobError) -> String) -> StepDefinition {
        var copy = self
        copy.task = compute
        return copy
    }

    /// The same step with `record` run in the coordinator's transaction when an instance succeeds.
    public func recording(_ record: @escaping @Sendable (JobRecord, StepRecord, ZoomDB) throws -> Void)
        -> StepDefinition
    {
        var copy = self
        copy.onSuccess = record
        return copy
    }

    /// The same step run once per item; each instance sees its item in `context.item`.
    public func fannedOut(over items: @escaping @Sendable (JobContext) throws(JobError) -> [JSONValue])
        -> StepDefinition
    {
        var copy = self
        copy.fanOut = items
        return copy
    }
}
