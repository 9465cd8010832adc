import DZSystem

/// Where a finished task ended up.
public enum FinishOutcome: Sendable, Equatable {
    /// The result was delivered and the task moved to `done/` or `failed/` (the path).
    case settled(String)
    /// The claim was gone: the lease had expired and another agent took the task. This result was discarded,
    /// so that only one result is ever reported for a task.
    case leaseLost
}

extension Spool {
    /// Reports a task's final outcome: stages the result beside the claim, delivers it into the `reply_to` queue,
    /// and moves the task to `done/` (status ok) or `failed/` (status error, with the reason beside it).
    ///
    /// Crash-safe: a claim found with a staged result beside it is completed by whoever reaps it, never run again.
    /// `encoded` is `result.encoded()` when the caller has it already.
    public func finish(
        _ claim: Claim, result: ResultFile, encoded: [UInt8]? = nil, now: Timestamp = .now()
    ) throws(SpoolError) -> FinishOutcome {
        // A claim younger than half its lease cannot have been taken back (see `reap`: only an expired lease or a
        // dead holder is): the check is needed only for older ones.
        guard now - claim.claimed < Double(claim.name.leaseSeconds) / 2 || renew(claim) else {
            audit.record("lease-lost", [("queue", claim.queue.rawValue), ("task", claim.task.id.rawValue),
                                        ("job", claim.task.job), ("attempt", String(claim.task.attempt)),
                                        ("status", result.status.rawValue)])
            return .leaseLost
        }
        let temporary = try writeTemporary(encoded ?? result.encoded(), in: claim.queue, hint: "result")
        do { try FileSystem.rename(temporary, claim.stagedResultPath) } catch {
            try? FileSystem.unlink(temporary)
            throw error.at("rename", claim.stagedResultPath)
        }
        let placed = try settle(claimPath: claim.path, staged: claim.stagedResultPath, task: claim.task,
                                queue: claim.queue, result: result, secrets: claim.secrets)
        return .settled(placed)
    }

    /// Steps after staging, shared by `finish` and by the reaper that finds a staged result: deliver, move, clean.
    func settle(
        claimPath: String, staged: String, task: TaskFile, queue: QueueName, result: ResultFile, secrets: [String]
    ) throws(SpoolError) -> String {
        try deliver(staged, task: task)
        let fileName = task.id.rawValue + ".json"
        let stage: Stage = result.status == .ok ? .done : .failed
        guard let placed = try moveAside(claimPath, as: fileName, in: queue, to: stage) else {
            throw Errno.noSuchFileOrDirectory.at("rename", claimPath)
        }
        let message = result.error.map { Redaction.mask(String($0.message.prefix(500)), secrets: secrets) }
        if stage == .failed {
            writeReason(beside: placed, queue: queue, fields: [("task", task.id.rawValue),
                                                               ("kind", result.error?.kind ?? "error"),
                                                               ("reason", message ?? "")])
        }
        try? FileSystem.unlink(staged)
        audit.record("finished", [("queue", queue.rawValue), ("task", task.id.rawValue), ("name", task.task),
                                  ("job", task.job), ("step", task.step), ("attempt", String(task.attempt)),
                                  ("status", result.status.rawValue), ("error_kind", result.error?.kind),
                                  ("error", message), ("moved_to", relative(placed))])
        return placed
    }

    /// Hard-links a staged result into the reply queue's `new/<id>.json` (so the staged copy stays until the task
    /// is settled). A result already waiting there is kept: results are never replaced.
    func deliver(_ staged: String, task: TaskFile) throws(SpoolError) {
        let replyQueue = task.replyTo
        try ensure(replyQueue)
        let target = path(replyQueue, .new) + "/" + task.id.rawValue + ".json"
        do {
            try FileSystem.link(staged, target)
        } catch .fileExists {
            audit.record("duplicate-result", [("queue", replyQueue.rawValue), ("task", task.id.rawValue),
                                              ("attempt", String(task.attempt))])
            return
        } catch {
            if !FileSystem.exists(target) { throw error.at("link", target) }
        }
        syncDirectory(path(replyQueue, .new))
    }

    /// Puts a task back into `new/` for another attempt: `attempt` + 1 and `not_before` = now + backoff.
    /// Returns `false` (and changes nothing) when the lease was lost.
    public func retry(_ claim: Claim, failure: ResultFile.Failure, now: Timestamp = .now()) throws(SpoolError) -> Bool {
        guard renew(claim) else {
            audit.record("lease-lost", [("queue", claim.queue.rawValue), ("task", claim.task.id.rawValue),
                                        ("attempt", String(claim.task.attempt))])
            return false
        }
        var next = claim.task
        next.attempt += 1
        next.notBefore = now + claim.task.retryDelay()
        try requeue(claimPath: claim.path, task: next, in: claim.queue)
        audit.record("retry", [("queue", claim.queue.rawValue), ("task", next.id.rawValue), ("job", next.job),
                               ("step", next.step), ("attempt", String(next.attempt)),
                               ("not_before", next.notBefore?.rfc3339), ("error_kind", failure.kind),
                               ("error", Redaction.mask(String(failure.message.prefix(500)), secrets: claim.secrets))])
        return true
    }

    /// Rewrites the file at `claimPath` as `task` (one rename over our own claim) and renames it into `new/`.
    func requeue(claimPath: String, task: TaskFile, in queue: QueueName) throws(SpoolError) {
        let temporary = try writeTemporary(task.encoded(), in: queue, hint: "task")
        if let notBefore = task.notBefore { try? FileSystem.touch(temporary, modified: notBefore) }
        do { try FileSystem.rename(temporary, claimPath) } catch {
            try? FileSystem.unlink(temporary)
            throw error.at("rename", claimPath)
        }
        try putBack(claimPath, fileName: task.id.rawValue + ".json", in: queue, modified: task.notBefore)
        syncDirectory(path(queue, .new))
    }

    /// Gives a claim back unchanged (shutdown before the task ran or finished): into `new/`, same attempt.
    public func release(_ claim: Claim) throws(SpoolError) {
        try putBack(claim.path, fileName: claim.task.id.rawValue + ".json", in: claim.queue, modified: nil)
        syncDirectory(path(claim.queue, .new))
        audit.record("released", [("queue", claim.queue.rawValue), ("task", claim.task.id.rawValue),
                                  ("job", claim.task.job), ("attempt", String(claim.task.attempt))])
    }
}
