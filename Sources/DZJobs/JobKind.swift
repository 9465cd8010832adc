import DZSpool
import DZStore

/// A kind of job: a graph of steps, declared in Swift. Steps whose `after` steps all succeeded run at once
/// (fan-out and fan-in follow from the graph); compensation steps run when the job stops.
public struct JobKind: Sendable {
    public var name: String
    public var summary: String
    public var steps: [StepDefinition]
    /// Parameters a submission must give (checked by `dz job submit` and by the planner).
    public var requiredParams: [String] = []
    /// Whether a submission must name a project.
    public var needsProject = false
    /// Whether jobs of this kind change what runs (instances, the site, the database): such jobs run one at a
    /// time per project, in the order they were issued; a later one waits, with no step, until the earlier ends.
    public var exclusive = false
    /// The job's result once every step succeeded (default: the output of the last step).
    public var result: @Sendable (JobContext) -> [String: JSONValue]
    /// What the kind's steps need from the zoomdb besides the job (the project's running instances, its
    /// database, its secret key), read by the coordinator each time it plans the job and given to the steps as
    /// `JobContext.facts`, so that the planner itself stays pure.
    public var facts: (@Sendable (JobRecord, ZoomDB) throws -> [String: JSONValue])?
    /// Records what the job came to (a release) once it has ended, whichever way, in the same transaction as its
    /// final state. The job record given is the final one; the context holds every step's output and the facts.
    /// A failure to record is logged on the job as an error; the job's state stands.
    public var onFinish: (@Sendable (JobRecord, JobContext, ZoomDB) throws -> Void)?

    public init(name: String, summary: String, steps: [StepDefinition],
                result: (@Sendable (JobContext) -> [String: JSONValue])? = nil)
    {
        self.name = name
        self.summary = summary
        self.steps = steps
        let last = steps.last { !$0.compensation }?.name
        self.result = result ?? { context in last.flatMap { context.outputs[$0]?.first } ?? [:] }
    }

    public func step(_ name: String) -> StepDefinition? { steps.first { $0.name == name } }

    /// Checks the graph: unique names, known dependencies, no cycles, compensation steps depend on none.
    public func validate() throws(JobError) {
        var seen = Set<String>()
        for step in steps {
            guard seen.insert(step.name).inserted else { throw .invalidDefinition("\(name): step \(step.name) declared twice") }
            guard TaskID.isValid(step.name), !step.name.contains(".") else {
                throw .invalidDefinition("\(name): step name \(step.name) must be [A-Za-z0-9_-]")
            }
        }
        for step in steps {
            for dependency in step.after where !seen.contains(dependency) {
                throw .invalidDefinition("\(name): step \(step.name) runs after unknown step \(dependency)")
            }
            if step.compensation, !step.after.isEmpty {
                throw .invalidDefinition("\(name): compensation step \(step.name) cannot depend on steps")
            }
        }
        var done = Set<String>()
        var remaining = steps.filter { !$0.compensation }
        while !remaining.isEmpty {
            let ready = remaining.filter { $0.after.allSatisfy(done.contains) }
            guard !ready.isEmpty else { throw .invalidDefinition("\(name): the steps form a cycle") }
            for step in ready { done.insert(step.name) }
            remaining.removeAll { step in ready.contains { $0.name == step.name } }
        }
    }
}
