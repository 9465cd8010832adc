import DZSpool
import DZStore
import DZSystem
import Logging

/// Requests: submitting, cancelling and configuring jobs.
extension CoordinatorEngine {
    /// Takes in a batch of requests: each claimed and read (one that is not a request is refused at once), their
    /// effects recorded in one transaction, the first steps of the jobs they start dropped together, and only then
    /// the requests retired (together, one fsync of `done/`'s day directory). A crash before the commit leaves them
    /// in `cur/`, put back at the next start; after it, a request seen again changes nothing (its job exists, is
    /// cancelling already, or its change is recorded) and is retired.
    func intakeRequests(_ names: [String]) throws {
        var claimed: [(claim: Claim, request: JobRequest)] = []
        for name in names {
            let outcome = try spool.claim(name, in: .jobs, leaseSeconds: 3600, settle: 10)
            guard case .claimed(let claim) = outcome else { continue }
            do { claimed.append((claim, try JobRequest(claim.task))) } catch {
                // Refused: still, no value of a config request goes to failed/.
                if let scrubbed = JobRequest.scrubbed(claim.task) { try spool.rewriteClaimed(claim, as: scrubbed) }
                try spool.retire(claim, failure: error)
            }
        }
        guard !claimed.isEmpty else { return }
        let outcomes = try db.transaction {
            try claimed.map { try record($0.request, claim: $0.claim) }
        }
        // Recorded: the values leave the spool before the request goes to done/ (or failed/).
        for (claim, _) in claimed {
            if let scrubbed = JobRequest.scrubbed(claim.task) { try spool.rewriteClaimed(claim, as: scrubbed) }
        }
        var jobs: [String] = []
        for job in outcomes.compactMap(\.job) where !jobs.contains(job) { jobs.append(job) }
        try dispatchPending(of: jobs)
        var done: [Claim] = []
        for ((claim, _), outcome) in zip(claimed, outcomes) {
            if let failure = outcome.failure { try spool.retire(claim, failure: failure) } else { done.append(claim) }
        }
        try spool.retire(done)
    }

    /// Records one request's effect (inside the caller's transaction): returns the job whose first steps are to
    /// be dropped, and why the request is refused.
    private func record(_ request: JobRequest, claim: Claim) throws -> (job: String?, failure: BadInput?) {
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
                return (nil, BadInput("unknown-kind", job.error!))
            }
            if let problem = JobPolicy.problem(in: params) {
                job.state = .failed
                job.finished = .now()
                job.error = problem
                if try db.insert(job) { try db.log(id, .error, problem) }
                changes.jobChanged(id)
                changes.summaryChanged()
                return (nil, BadInput("bad-param", problem))
            }
            guard try db.insert(job) else { return (nil, nil) }
            changes.summaryChanged()
            try db.log(id, .info, "job \(kind.name) submitted" + (project.map { " for project \($0)" } ?? "")
                       + (issuedBy.map { " by \($0)" } ?? ""))
            try advance(id)
            return (id, nil)
        case .cancel(let jobID, let reason):
            guard var job = try db.job(jobID) else { return (nil, BadInput("not-found", "no job \(jobID) to cancel")) }
            guard job.state == .running, job.stopping != .cancelling else { return (nil, nil) }
            job.stopping = .cancelling
            job.error = job.error ?? "cancelled: \(reason)"
            try db.update(job)
            try db.log(jobID, .warn, "cancel requested: \(reason)")
            try withdrawWaiting(jobID, reason: "withdrawn: job cancelled")
            try advance(jobID)
            return (jobID, nil)
        case .configure(let id, let project, let change, let issuedBy):
            let outcome = try recordConfigChange(id: id, project: project, change: change, issuedBy: issuedBy,
                                                 issuedAt: claim.task.created ?? .now())
            return (outcome.started ? id : nil, outcome.failure)
        }
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
