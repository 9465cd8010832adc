import DZSpool
import DZStore
import DZSystem
import Logging

/// Starting: the zoomdb's spool, interrupted intake, poison.
extension CoordinatorEngine {
    /// Refuses a zoomdb made for another spool (its recorded spool id); records this spool's on first use.
    func checkSpoolIdentity() throws {
        let id = try spool.identity()
        if let recorded = try db.meta("spool_id") {
            guard recorded == id else {
                let place = (try? db.meta("spool_path")).flatMap { $0 }.map { " at \($0)" } ?? ""
                throw CoordinatorError.wrongSpool(
                    "the zoomdb \(configuration.databasePath) belongs to spool \(recorded)\(place), not to this spool "
                        + "\(id) at \(spool.root): give this spool's coordinator its own zoomdb (--db)")
            }
        } else {
            try db.transaction {
                try db.setMeta("spool_id", id)
                try db.setMeta("spool_path", spool.root)
            }
        }
    }

    /// At start: takes back its own interrupted intake (each file counted as the death of the coordinator that held
    /// it; one that killed it too often is set aside as poison and its step or job failed), drops the tasks of
    /// steps recorded but maybe not dropped, and processes whatever waits.
    func recover() throws {
        for queue in [QueueName.results, .jobs] {
            let released = try spool.releaseAll(queue, countingDeaths: true)
            if released.count > 0 {
                logger.notice("put back interrupted intake", metadata: ["queue": "\(queue)", "files": "\(released.count)"])
            }
            for id in released.poisoned { try failPoisoned(id, from: queue) }
        }
        dispatch(try db.steps(in: [.dispatching]), checkSpool: true)
        try markAllForPublishing()
        sweep()
    }

    /// Records that a result or request was set aside as poison: its step, or its job, fails with kind `poison`.
    private func failPoisoned(_ id: TaskID, from queue: QueueName) throws {
        let why = "its \(queue == .results ? "result" : "request") stopped the coordinator every time it was read: "
            + "set aside in \(queue)/failed/ as poison"
        logger.error("poison set aside", metadata: ["queue": "\(queue)", "file": "\(id).json"])
        if queue == .results {
            guard var step = try db.step(taskID: id.rawValue), !step.state.isFinal else { return }
            try db.transaction {
                step.state = .failed
                step.errorKind = "poison"
                step.error = why
                step.finished = .now()
                try db.update(step)
                try db.log(step.job, .stepEnd, "\(step.name) failed: poison: \(why)")
                try advance(step.job)
            }
            try dispatchPending(of: step.job)
        } else {
            // A config request set aside before it was recorded: its values do not stay in failed/.
            do { try spool.rewriteFailed(id, in: queue, JobRequest.scrubbed) } catch {
                logger.critical("a poisoned request could not be rewritten without its values: remove it by hand",
                                metadata: ["queue": "\(queue)", "file": "\(id).json", "error": "\(error)"])
            }
            guard try db.job(id.rawValue) == nil else { return }
            var job = JobRecord(id: id.rawValue, kind: "unknown", project: nil, params: [:], issuedBy: nil,
                                issuedAt: .now())
            job.state = .failed
            job.finished = .now()
            job.error = why
            try db.transaction {
                if try db.insert(job) { try db.log(job.id, .error, why) }
            }
            changes.jobChanged(job.id)
            changes.summaryChanged()
        }
    }
}
