import DZSpool
import DZStore
import DZSystem

/// Decides what a job does next from its kind and the state of its steps: which step instances to create, and
/// whether the job is finished. Pure: it reads records and returns a plan; the coordinator applies it.
public struct JobPlanner: Sendable {
    public let kind: JobKind
    /// Slack added to a step's worst case before the coordinator gives up on it (time waiting in a queue).
    public let queueWait: Double
    /// Which host names a project may have (see `JobContext.hostnamePolicy`).
    public let hostnamePolicy: HostnamePolicy

    public init(kind: JobKind, queueWait: Double = 3600, hostnamePolicy: HostnamePolicy = HostnamePolicy()) {
        self.kind = kind
        self.queueWait = queueWait
        self.hostnamePolicy = hostnamePolicy
    }

    public struct Plan: Sendable {
        public var job: JobRecord
        public var newSteps: [StepRecord] = []
        public var log: [(JobLogLine.Level, String)] = []
    }

    public func plan(_ job: JobRecord, steps: [StepRecord], facts: [String: JSONValue] = [:], now: Timestamp = .now())
        -> Plan
    {
        var plan = Plan(job: job)
        guard job.state == .running else { return plan }
        var all = steps

        for step in steps where step.state == .failed && !step.compensation && plan.job.stopping == nil {
            guard kind.step(step.definition)?.failure != .warn, kind.step(step.definition)?.detached != true
            else { continue }
            plan.job.stopping = .failing
            plan.job.error = "step \(step.name) failed: \(step.errorKind ?? "error"): \(step.error ?? "")"
            plan.log.append((.error, "stopping: \(plan.job.error!)"))
        }

        if plan.job.stopping == nil {
            var progressed = true
            // Loop so that steps made complete by an empty fan-out release their successors in the same pass.
            while progressed, plan.job.stopping == nil {
                progressed = false
                for definition in kind.steps where !definition.compensation && !instantiated(definition, all) {
                    guard definition.after.allSatisfy({ complete($0, all) }) else { continue }
                    do {
                        let created = try instantiate(definition, job, context: self.context(job, all, facts: facts), now: now)
                        plan.newSteps += created
                        all += created
                        progressed = true
                    } catch {
                        plan.job.stopping = .failing
                        plan.job.error = "step \(definition.name) could not start: \(error.message)"
                        plan.log.append((.error, "stopping: \(plan.job.error!)"))
                        break
                    }
                }
            }
        }

        // Detached steps are never waited for (see `StepDefinition.detached`).
        let unfinished = all.filter { !$0.state.isFinal && kind.step($0.definition)?.detached != true }
        if let stopping = plan.job.stopping {
            guard unfinished.allSatisfy(\.compensation) else { return plan }
            for definition in kind.steps where definition.compensation && !instantiated(definition, all) {
                do {
                    let created = try instantiate(definition, job, context: self.context(job, all, facts: facts), now: now)
                    plan.newSteps += created
                    all += created
                } catch {
                    plan.log.append((.error, "compensation \(definition.name) could not start: \(error.message)"))
                }
            }
            if all.allSatisfy({ $0.state.isFinal || kind.step($0.definition)?.detached == true }) {
                plan.job.state = stopping == .cancelling ? .cancelled : .failed
                plan.job.finished = now
                plan.log.append((.info, "job \(plan.job.state.rawValue)"))
            }
            return plan
        }
        let everyStepDone = kind.steps.filter { !$0.compensation }.allSatisfy { complete($0.name, all) }
        if everyStepDone, unfinished.isEmpty {
            plan.job.state = .succeeded
            plan.job.finished = now
            plan.job.result = kind.result(self.context(job, all, facts: facts))
            plan.log.append((.info, "job succeeded"))
        }
        return plan
    }

    /// The context a step definition computes from: parameters and the outputs of succeeded instances.
    public func context(_ job: JobRecord, _ steps: [StepRecord], facts: [String: JSONValue] = [:]) -> JobContext {
        var outputs: [String: [[String: JSONValue]]] = [:]
        var hosts: [String: [String]] = [:]
        for step in steps.sorted(by: { ($0.ordinal, $0.name) < ($1.ordinal, $1.name) })
        where step.state == .succeeded && step.task != JobPlanner.noTask {
            outputs[step.definition, default: []].append(step.output ?? [:])
            if let host = step.host { hosts[step.definition, default: []].append(host) }
        }
        var context = JobContext(jobID: job.id, kind: job.kind, project: job.project, params: job.params,
                                 outputs: outputs)
        context.hosts = hosts
        context.facts = facts
        context.hostnamePolicy = hostnamePolicy
        return context
    }

    func instantiated(_ definition: StepDefinition, _ steps: [StepRecord]) -> Bool {
        steps.contains { $0.definition == definition.name }
    }

    /// Whether every instance of a step finished well enough for its successors: succeeded, or failed where the
    /// step's failure is only a warning.
    func complete(_ name: String, _ steps: [StepRecord]) -> Bool {
        let instances = steps.filter { $0.definition == name }
        guard !instances.isEmpty else { return false }
        if kind.step(name)?.detached == true { return true }
        let warns = kind.step(name)?.failure == .warn
        return instances.allSatisfy { $0.state == .succeeded || (warns && $0.state.isFinal) }
    }

    /// The task name of the marker row that records a fan-out over no items.
    public static let noTask = StepRecord.noTask

    func instantiate(_ definition: StepDefinition, _ job: JobRecord, context: JobContext, now: Timestamp)
        throws(JobError) -> [StepRecord]
    {
        let ordinalBase = (kind.steps.firstIndex { $0.name == definition.name } ?? 0) * 1000
        var contexts: [(String, JobContext)] = []
        if let fanOut = definition.fanOut {
            let items = try fanOut(context)
            if items.isEmpty {
                var marker = StepRecord(job: job.id, name: definition.name, definition: definition.name,
                                        ordinal: ordinalBase, queue: "", task: JobPlanner.noTask,
                                        taskID: job.id + "." + definition.name, taskFile: "",
                                        compensation: definition.compensation, maxAttempts: 1, deadline: nil)
                marker.state = .succeeded
                marker.finished = now
                marker.output = ["skipped": .string("no items to fan out over")]
                return [marker]
            }
            for (index, item) in items.enumerated() {
                var instance = context
                instance.item = item
                instance.index = index
                contexts.append(("\(definition.name).\(index)", instance))
            }
        } else {
            contexts = [(definition.name, context)]
        }
        return try contexts.enumerated().map { offset, entry throws(JobError) in
            let (name, instance) = entry
            let maxAttempts = JobPolicy.value("max_attempts", in: job.params).map { Int(saturating: $0) }
                ?? definition.maxAttempts
            let backoff = JobPolicy.value("backoff_s", in: job.params) ?? definition.backoffSeconds
            let timeout = JobPolicy.value("timeout_s", in: job.params) ?? definition.timeoutSeconds
            var policy = definition
            policy.maxAttempts = maxAttempts
            policy.backoffSeconds = backoff
            policy.timeoutSeconds = timeout
            let taskID = job.id + "." + name
            guard let id = try? TaskID(taskID) else { throw .invalidParameter("task id \(taskID) is not valid") }
            let taskName = try definition.task(instance)
            let queue = try definition.queue(instance)
            var file = TaskFile(id: id, task: taskName, args: try definition.args(instance), job: job.id, step: name,
                                maxAttempts: maxAttempts, backoffSeconds: backoff, timeoutSeconds: timeout,
                                created: now)
            if definition.compensation { file.extra["compensation"] = .bool(true) }
            return StepRecord(job: job.id, name: name, definition: definition.name, ordinal: ordinalBase + offset,
                              queue: queue.rawValue, task: taskName, taskID: taskID,
                              taskFile: String(decoding: file.encoded(), as: UTF8.self),
                              compensation: definition.compensation, maxAttempts: maxAttempts,
                              deadline: definition.detached ? nil : now + policy.worstCaseSeconds + queueWait)
        }
    }
}
