import DZSpool
import DZStore
import DZSystem
import Logging

/// Planning a job's next moves, and jobs that wait for another of their project.
extension CoordinatorEngine {
    /// Plans the job's next moves and records them (inside the caller's transaction); returns the steps it
    /// recorded to be dispatched, whose tasks the caller drops once the transaction has committed.
    @discardableResult
    func advance(_ jobID: String) throws -> [StepRecord] {
        changes.jobChanged(jobID)
        guard let job = try db.job(jobID), job.state == .running else { return [] }
        guard let kind = catalog.kind(job.kind) else { return [] }
        // Planning reads states and outputs, never the task files of the steps there are (the new ones it makes).
        let steps = try db.stepsWithoutTaskFiles(of: jobID)
        if kind.exclusive, steps.isEmpty, job.stopping == nil, let holder = try exclusiveHolder(before: job) {
            if waitingLogged.insert(jobID).inserted {
                try db.log(jobID, .info, "waiting for job \(holder.id) (\(holder.kind)) of project "
                           + "\(job.project ?? "?") to end: one at a time per project")
            }
            return []
        }
        let facts = try kind.facts?(job, db) ?? [:]
        let plan = planner(kind).plan(job, steps: steps, facts: facts)
        for step in plan.newSteps {
            try db.insert(step)
            if step.state == .succeeded { try db.log(jobID, .info, "\(step.name): nothing to fan out over") }
        }
        for (level, message) in plan.log { try db.log(jobID, level, message) }
        var withdrawn = 0
        if plan.job != job {
            if plan.job.stopping == .failing, job.stopping == nil {
                withdrawn = try withdrawWaiting(jobID, reason: "withdrawn: job failing")
            }
            try db.update(plan.job)
            if plan.job.state != job.state, plan.job.state.isFinal {
                changes.jobEnded(jobID)
                changes.projectChanged(job.project)
                changes.summaryChanged()
                if let onFinish = kind.onFinish {
                    do {
                        try onFinish(plan.job, planner(kind).context(plan.job, try db.steps(of: jobID), facts: facts), db)
                    } catch {
                        try db.log(jobID, .error, "could not record what the job came to: \(error)")
                    }
                }
                spool.audit.record("job-\(plan.job.state.rawValue)", [("job", jobID), ("kind", job.kind)])
                telemetry?.jobEnded(kind: job.kind, outcome: plan.job.state.rawValue,
                                    seconds: (plan.job.finished ?? .now()) - (plan.job.started ?? job.issuedAt))
            }
        }
        let dispatching = plan.newSteps.filter { $0.state == .dispatching }
        guard withdrawn > 0 else { return dispatching }
        // Withdrawn are also the steps this plan made before the job started failing (not dropped yet): none of
        // them is dropped. The plan waited for the steps withdrawn, and no result of theirs will come to plan
        // again: plan now (the compensation, or the job's end).
        let kept = try dispatching.filter { try db.step(taskID: $0.taskID)?.state == .dispatching }
        return kept + (try advance(jobID))
    }

    /// The planner of `kind` with this coordinator's settings.
    private func planner(_ kind: JobKind) -> JobPlanner {
        JobPlanner(kind: kind, queueWait: configuration.queueWait, hostnamePolicy: configuration.hostnamePolicy)
    }

    /// The running job of an exclusive kind that `job` must wait for: one of the same project that has started
    /// (has steps), else the earliest issued before it.
    private func exclusiveHolder(before job: JobRecord) throws -> JobRecord? {
        guard let project = job.project else { return nil }
        func rival(_ other: JobRecord) -> Bool {
            other.id != job.id && other.project == project && catalog.kind(other.kind)?.exclusive == true
        }
        if let started = try db.runningJobs(started: true).first(where: rival) { return started }
        return try db.runningJobs(started: false).filter(rival)
            .first { ($0.issuedAt, $0.id) < (job.issuedAt, job.id) }
    }

    /// Starts the jobs that waited for another of their project that has ended (see `JobKind.exclusive`).
    func startWaiting() throws {
        for job in try db.runningJobs(started: false) where catalog.kind(job.kind)?.exclusive == true {
            try db.transaction { try advance(job.id) }
            try dispatchPending(of: job.id)
        }
    }
}
