import DZSpool
import DZStore
import DZSystem
import Logging

/// Requests: submitting, cancelling and configuring jobs.
extension CoordinatorEngine {
    func intakeRequest(_ name: String) throws {
        let outcome = try spool.claim(name, in: .jobs, leaseSeconds: 3600, settle: 10)
        guard case .claimed(let claim) = outcome else { return }
        let request: JobRequest
        do { request = try JobRequest(claim.task) } catch {
            // Refused: still, no value of a config request goes to failed/.
            if let scrubbed = JobRequest.scrubbed(claim.task) { try spool.rewriteClaimed(claim, as: scrubbed) }
            try spool.retire(claim, failure: error)
            return
        }
        var jobToDispatch: String?
        var failure: BadInput?
        try db.transaction {
            switch request {
            case .submit(let id, let kindName, let project, let params, let issuedBy):
                var job = JobRecord(id: id, kind: kindName, project: project, params: params, issuedBy: issuedBy,
                                    issuedAt: claim.task.created ?? .now())
                job.started = .now()
                guard let kind = catalog.kind(kindName) else {
                    job.state = .failed
                    job.finished = .now()
                    job.error = "unknown job kind \"\(kindName)\": this coordinator knows \(catalog.names.joined(separator: ", "))"
                    if try db.insert(job) { try db.log(id, .error, job.error!) }
                    changes.jobChanged(id)
                    changes.summaryChanged()
                    failure = BadInput("unknown-kind", job.error!)
                    return
                }
                if let problem = JobPolicy.problem(in: params) {
                    job.state = .failed
                    job.finished = .now()
                    job.error = problem
                    if try db.insert(job) { try db.log(id, .error, problem) }
                    changes.jobChanged(id)
                    changes.summaryChanged()
                    failure = BadInput("bad-param", problem)
                    return
                }
                guard try db.insert(job) else { return }
                changes.summaryChanged()
                try db.log(id, .info, "job \(kind.name) submitted" + (project.map { " for project \($0)" } ?? "")
                           + (issuedBy.map { " by \($0)" } ?? ""))
                try advance(id)
                jobToDispatch = id
            case .cancel(let jobID, let reason):
                guard var job = try db.job(jobID) else {
                    failure = BadInput("not-found", "no job \(jobID) to cancel")
                    return
                }
                guard job.state == .running, job.stopping != .cancelling else { return }
                job.stopping = .cancelling
                job.error = job.error ?? "cancelled: \(reason)"
                try db.update(job)
                try db.log(jobID, .warn, "cancel requested: \(reason)")
                try withdrawWaiting(jobID, reason: "withdrawn: job cancelled")
                try advance(jobID)
                jobToDispatch = jobID
            case .configure(let id, let project, let change, let issuedBy):
                let outcome = try recordConfigChange(id: id, project: project, change: change, issuedBy: issuedBy,
                                                     issuedAt: claim.task.created ?? .now())
                failure = outcome.failure
                if outcome.started { jobToDispatch = id }
            }
        }
        // Recorded: the values leave the spool before the request goes to done/ (or failed/).
        if let scrubbed = JobRequest.scrubbed(claim.task) { try spool.rewriteClaimed(claim, as: scrubbed) }
        if let job = jobToDispatch { try dispatchPending(of: job) }
        try spool.retire(claim, failure: failure)
    }

    /// Records a change of an app's environment (inside the caller's transaction) under a `config` job of the
    /// request's id, which reports it: ended at once when nothing changed or the change waits for the next release
    /// (`restart` false), else running, as the release that puts it live. Only the variables' names reach the
    /// job's parameters and log. A request seen again after a restart (its job exists) changes nothing.
    private func recordConfigChange(id: String, project: String, change: ConfigChange, issuedBy: String?,
                                    issuedAt: Timestamp) throws -> (started: Bool, failure: BadInput?)
    {
        guard try db.job(id) == nil else { return (false, nil) }
        var job = JobRecord(id: id, kind: ConfigJob.kind.name, project: project,
                            params: ["change": .string(change.summary)], issuedBy: issuedBy, issuedAt: issuedAt)
        job.started = .now()
        changes.jobChanged(id)
        changes.summaryChanged()
        func end(_ state: JobRecord.State, _ level: JobLogLine.Level, _ message: String,
                 result: [String: JSONValue]? = nil) throws
        {
            job.state = state
            job.finished = .now()
            if state == .failed { job.error = message }
            job.result = result
            try db.insert(job)
            try db.log(id, level, message)
            if state.isFinal {
                telemetry?.jobEnded(kind: job.kind, outcome: state.rawValue,
                                    seconds: (job.finished ?? .now()) - (job.started ?? job.issuedAt))
            }
        }
        let problem = change.isScrubbed
            ? "the request's values were taken out before they were recorded: nothing changed; ask again"
            : change.problem ?? configuration.environmentCheck?(change.set)
        if let problem {
            try end(.failed, .error, problem)
            return (false, BadInput("bad-env", problem))
        }
        let before = try db.configVersion(of: project)
        let version = try db.applyEnvironmentChange(of: project, set: change.set, unset: change.unset)
        changes.projectChanged(project)
        job.params["config_version"] = .int(Int64(version))
        var result: [String: JSONValue] = ["config_version": .int(Int64(version)), "changed": .bool(version != before)]
        if version == before {
            try end(.succeeded, .info, "nothing changed (config version \(version))", result: result)
            return (false, nil)
        }
        guard change.restart else {
            result["restarted"] = .bool(false)
            try end(.succeeded, .info, "config version \(version): \(change.summary); stored, not put live: the next "
                    + "release does", result: result)
            return (false, nil)
        }
        try db.insert(job)
        try db.log(id, .info, "config version \(version): \(change.summary)" + (issuedBy.map { " by \($0)" } ?? ""))
        try advance(id)
        return (true, nil)
    }
}
