import DZSpool
import DZStore
import DZSystem
import Logging

/// Dropping steps' tasks into the spool, and taking back those that wait.
extension CoordinatorEngine {
    /// Drops the task files of the job's steps recorded as `dispatching`.
    func dispatchPending(of jobID: String) throws {
        try dispatchPending(of: [jobID])
    }

    /// Drops the task files of the jobs' steps recorded as `dispatching`, together (one round of drops).
    func dispatchPending(of jobIDs: [String]) throws {
        dispatch(try jobIDs.flatMap { try db.steps(of: $0).filter { $0.state == .dispatching } })
    }

    /// Drops one step's task and marks it dispatched. With `checkSpool` (after a restart), a task already
    /// anywhere in the spool is not dropped again.
    func dispatch(_ step: StepRecord, checkSpool: Bool) {
        dispatch([step], checkSpool: checkSpool)
    }

    /// Drops the steps' tasks, then marks those dropped dispatched, in one transaction. The drops are made
    /// together (`Spool.drop(_:)`: one fsync of each queue's `new/` for all of them), and every task is durable
    /// before its step is recorded as dispatched. A step whose task could not be dropped, or whose mark could not
    /// be recorded, stays `dispatching` for the next sweep (which looks for its task in the spool first); one that
    /// can never be dropped fails.
    func dispatch(_ steps: [StepRecord], checkSpool: Bool = false) {
        guard !steps.isEmpty else { return }
        // Each step's task read back; with `checkSpool`, one already in the spool is not dropped again.
        var outcomes = [Result<Bool, SpoolError>?](repeating: nil, count: steps.count)
        var drops: [(index: Int, task: TaskFile, queue: QueueName)] = []
        for (index, step) in steps.enumerated() {
            do {
                let queue = try QueueName(step.queue)
                let task = try TaskFile(parsing: Array(step.taskFile.utf8), stem: step.taskID)
                if checkSpool, !spool.locations(of: step.taskID).isEmpty {
                    outcomes[index] = .success(true)
                } else {
                    drops.append((index, task, queue))
                }
            } catch {
                failDispatch(steps[index], error)
            }
        }
        for (drop, error) in zip(drops, spool.drop(drops.map { ($0.task, $0.queue) })) {
            switch error {
            // Already waiting: the drop happened before a crash.
            case nil, .duplicateID?: outcomes[drop.index] = .success(true)
            case let error?: outcomes[drop.index] = .failure(error)
            }
        }
        var dropped: [StepRecord] = []
        dropped.reserveCapacity(steps.count)
        let now = Timestamp.now()
        for (index, outcome) in outcomes.enumerated() {
            switch outcome {
            case nil: continue
            case .success:
                var step = steps[index]
                step.state = .dispatched
                step.dispatched = now
                changes.jobChanged(step.job)
                dropped.append(step)
            case .failure(let error) where error.isWriteFailure:
                // The spool cannot take the file now (a full disk): the step stays to be dispatched, at the next
                // sweep, rather than fail its job for a fault of the place.
                logger.error("dispatch failed: trying again at the next sweep", metadata: [
                    "task": "\(steps[index].taskID)", "error": "\(error)",
                ])
                redispatchPending = true
            case .failure(let error):
                failDispatch(steps[index], error)
            }
        }
        guard !dropped.isEmpty else { return }
        do {
            // Not fsynced (`lightTransaction`): a mark a power loss takes back leaves its step `dispatching`, whose
            // task, durable already, the next start finds in the spool; and the next durable commit (the step's
            // result) makes the mark durable first. One fsync less per batch and per request.
            try db.lightTransaction {
                for step in dropped {
                    try db.update(step)
                    try db.log(step.job, .stepBegin, "\(step.name): \(step.task) on \(step.queue)")
                }
            }
        } catch {
            // The zoomdb could not record it (full, busy): the steps are still `dispatching` there, and their
            // tasks are looked for in the spool before they are dropped again.
            logger.error("recording a dispatch failed: trying again at the next sweep", metadata: [
                "tasks": "\(dropped.count)", "first": "\(dropped[0].taskID)", "error": "\(error)",
            ])
            redispatchPending = true
        }
    }

    /// Fails a step whose task can never be dropped (it cannot be read back, or the spool refuses it).
    private func failDispatch(_ step: StepRecord, _ error: any Error) {
        var step = step
        logger.error("dispatch failed", metadata: ["task": "\(step.taskID)", "error": "\(error)"])
        try? db.transaction {
            step.state = .failed
            step.errorKind = "dispatch"
            step.error = "\(error)"
            step.finished = .now()
            try db.update(step)
            try db.log(step.job, .error, "\(step.name) could not be dispatched: \(error)")
            try advance(step.job)
        }
    }

    /// Takes the job's tasks still waiting in `new/` back out of the spool (to `failed/` with `reason`), and marks
    /// their steps cancelled; returns how many. Running tasks are stopped by the agents through the tombstone, or
    /// finish.
    @discardableResult
    func withdrawWaiting(_ jobID: String, reason: String) throws -> Int {
        var withdrawn = 0
        for var step in try db.steps(of: jobID) where !step.state.isFinal && !step.compensation {
            guard let queue = try? QueueName(step.queue) else { continue }
            let taken = try? spool.take(step.taskID + ".json", in: queue)
            if let taken {
                try spool.retire(taken, failure: BadInput("withdrawn", reason))
            } else if step.state == .dispatched {
                continue
            }
            step.state = .cancelled
            step.errorKind = "withdrawn"
            step.error = reason
            step.finished = .now()
            try db.update(step)
            try db.log(jobID, .stepEnd, "\(step.name) cancelled: \(reason)")
            withdrawn += 1
        }
        return withdrawn
    }
}
