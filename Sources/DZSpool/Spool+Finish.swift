import DZSystem

/// Where a finished task ended up.
public enum FinishOutcome: Sendable, Equatable {
    /// The result was delivered and the task moved to `done/` or `failed/` (the path).
    case settled(String)
    /// The claim was gone before the holder could commit: its lease had expired and another agent took the task
    /// back. Nothing of this attempt was delivered, so that only the holder of the lease ever reports a result.
    case leaseLost
    /// Committed by this holder, then completed by a reaper while the holder was stopped (it had been paused
    /// past its lease): the result was delivered once, by one of them.
    case completedByOther
}

extension Spool {
    /// Reports a task's final outcome: stages the result beside the claim, commits, delivers the result into the
    /// `reply_to` queue, and moves the task to `done/` (status ok) or `failed/` (status error, with the reason).
    ///
    /// Fenced: the commit is the rename of the claim itself (`<stem>.json` to `<stem>.ok` or `.error`), the very
    /// file a reaper renames when it takes the task back, so exactly one of them wins. A holder that lost its lease
    /// fails to commit and delivers nothing, wherever it was paused. After the commit, every step is one rename of a
    /// file named after this claim, so a reaper that completes the work of a holder that died (or stopped) there
    /// never repeats a step the holder did. `encoded` is `result.encoded()` when the caller has it already.
    public func finish(
        _ claim: Claim, result: ResultFile, encoded: [UInt8]? = nil, now: Timestamp = .now()
    ) throws(SpoolError) -> FinishOutcome {
        let outcome: ClaimName.Outcome = result.status == .ok ? .ok : .error
        guard try stageAndCommit(claim, encoded ?? result.encoded(), as: outcome) else {
            audit.record("lease-lost", [("queue", claim.queue.rawValue), ("task", claim.task.id.rawValue),
                                        ("job", claim.task.job), ("attempt", String(claim.task.attempt)),
                                        ("status", result.status.rawValue)])
            return .leaseLost
        }
        let placed = try complete(claim.name, outcome, task: claim.task, in: claim.queue, result: result,
                                  secrets: claim.secrets, by: nil)
        return placed.map(FinishOutcome.settled) ?? .completedByOther
    }

    /// Puts a task back into `new/` for another attempt: `attempt` + 1 and `not_before` = now + backoff.
    /// Returns `false` (and changes nothing) when the lease was lost. Fenced like `finish`.
    public func retry(_ claim: Claim, failure: ResultFile.Failure, now: Timestamp = .now()) throws(SpoolError) -> Bool {
        var next = claim.task
        next.attempt += 1
        next.notBefore = now + claim.task.retryDelay()
        guard try stageAndCommit(claim, next.encoded(), as: .retry, modified: next.notBefore) else {
            audit.record("lease-lost", [("queue", claim.queue.rawValue), ("task", claim.task.id.rawValue),
                                        ("attempt", String(claim.task.attempt))])
            return false
        }
        audit.record("retry", [("queue", claim.queue.rawValue), ("task", next.id.rawValue), ("job", next.job),
                               ("step", next.step), ("attempt", String(next.attempt)),
                               ("not_before", next.notBefore?.rfc3339), ("error_kind", failure.kind),
                               ("error", Redaction.mask(String(failure.message.prefix(500)), secrets: claim.secrets))])
        _ = try complete(claim.name, .retry, task: claim.task, in: claim.queue, result: nil, secrets: claim.secrets,
                         by: nil)
        return true
    }

    /// Gives a claim back unchanged (shutdown before the task ran or finished, or its outcome could not be
    /// written): into `new/`, same attempt. A claim already gone (taken back, or committed) is left as it is.
    public func release(_ claim: Claim) throws(SpoolError) {
        guard try putBack(claim.path, fileName: claim.task.id.rawValue + ".json", in: claim.queue, modified: nil)
        else { return }
        try makeDurable(path(claim.queue, .new))
        wakeups?.ring(claim.queue)
        audit.record("released", [("queue", claim.queue.rawValue), ("task", claim.task.id.rawValue),
                                  ("job", claim.task.job), ("attempt", String(claim.task.attempt))])
    }

    /// Writes `bytes` as the claim's staged outcome, then commits by renaming the claim to `<stem>.<outcome>`.
    /// `false` when the claim was gone (taken back): the staged file is removed and nothing else changes.
    func stageAndCommit(_ claim: Claim, _ bytes: [UInt8], as outcome: ClaimName.Outcome,
                        modified: Timestamp? = nil) throws(SpoolError) -> Bool
    {
        let dir = path(claim.queue, .cur)
        let staged = dir + "/" + claim.name.stagedResultName
        let temporary = try writeTemporary(bytes, in: claim.queue, hint: "result")
        if let modified { try? FileSystem.touch(temporary, modified: modified) }
        do { try FileSystem.rename(temporary, staged) } catch {
            try? FileSystem.unlink(temporary)
            throw error.at("rename", staged)
        }
        FaultInjection.pause(at: .staged)
        let committed = dir + "/" + claim.name.committedName(outcome)
        do {
            try FileSystem.rename(claim.path, committed)
        } catch {
            // NFS may report a rename that happened as failed: the committed name decides.
            if !FileSystem.exists(committed) {
                try? FileSystem.unlink(staged)
                if error == .noSuchFileOrDirectory { return false }
                throw error.at("rename", claim.path)
            }
        }
        FaultInjection.pause(at: .committed)
        return true
    }

    /// Completes a committed claim: publishes its staged outcome (the result into the reply queue, or the next
    /// attempt's task into `new/`), then moves the committed file to `done/` or `failed/` (or removes it, for a
    /// retry). Run by the holder right after its commit, or by a reaper (`by`: the reaper's own claim name, for the
    /// audit log) when the holder died or stopped after committing. Each step renames a file of this claim: a
    /// step already done by the other finds nothing and is skipped. Returns where the task was put, or nil when the
    /// other did that (the one that moves the task logs `finished`).
    func complete(
        _ name: ClaimName, _ outcome: ClaimName.Outcome, task: TaskFile, in queue: QueueName, result: ResultFile?,
        secrets: [String], by completer: ClaimName?
    ) throws(SpoolError) -> String? {
        let dir = path(queue, .cur)
        let staged = dir + "/" + name.stagedResultName
        let committed = dir + "/" + name.committedName(outcome)
        let fileName = task.id.rawValue + ".json"
        if outcome == .retry {
            try publish(staged, as: fileName, in: queue, kind: "task")
            do { try FileSystem.unlink(committed) } catch .noSuchFileOrDirectory {} catch {
                throw error.at("unlink", committed)
            }
            return nil
        }
        // The reason of a failed task comes from its result, read before the result leaves.
        var result = result
        if result == nil, case .contents(let bytes, _)? = try? FileIO.read(staged, limit: TaskFile.maxSize) {
            result = try? ResultFile(parsing: bytes)
        }
        try publish(staged, as: fileName, in: task.replyTo, kind: "result")
        FaultInjection.pause(at: .delivered)
        guard let placed = try moveAside(committed, as: fileName, in: queue, to: outcome == .ok ? .done : .failed)
        else { return nil }
        // A task that ran before may have had holders die (see `recordDeath`); settled, it needs no count.
        if task.attempt > 1 || completer != nil { try? FileSystem.unlink(dir + "/" + task.id.rawValue + ".deaths") }
        let message = result?.error.map { Redaction.mask(String($0.message.prefix(500)), secrets: secrets) }
        if outcome == .error {
            writeReason(beside: placed, queue: queue, fields: [("task", task.id.rawValue),
                                                               ("kind", result?.error?.kind ?? "error"),
                                                               ("reason", message ?? "")])
        }
        audit.record("finished", [("queue", queue.rawValue), ("task", task.id.rawValue), ("name", task.task),
                                  ("job", task.job), ("step", task.step), ("attempt", String(task.attempt)),
                                  ("status", outcome == .ok ? "ok" : "error"),
                                  ("error_kind", result?.error?.kind), ("error", message),
                                  ("completed_by", completer.map { "\($0.host.rawValue)/\($0.pid)" }),
                                  ("moved_to", relative(placed))])
        return placed
    }

    /// Renames a staged outcome into `queue`'s `new/` as `fileName`: one rename, so it happens once. A file of
    /// the same name already waiting there is never replaced: the staged one is set aside in that queue's
    /// `failed/` as a duplicate. A staged file already gone was published by the holder or a reaper.
    func publish(_ staged: String, as fileName: String, in queue: QueueName, kind: String) throws(SpoolError) {
        try ensure(queue)
        let target = path(queue, .new) + "/" + fileName
        do {
            try FileSystem.renameExclusive(staged, target)
        } catch .noSuchFileOrDirectory {
            // Gone already: published by the other party (or NFS reported a rename that happened as failed).
            return
        } catch .fileExists {
            audit.record("duplicate-\(kind)", [("queue", queue.rawValue), ("task", String(fileName.dropLast(5)))])
            if let placed = try moveAside(staged, as: fileName, in: queue, to: .failed) {
                writeReason(beside: placed, queue: queue, fields: [
                    ("file", fileName), ("kind", "duplicate-\(kind)"),
                    ("reason", "a \(kind) with the same id was already waiting in new/; this one was kept aside"),
                ])
            }
            return
        } catch {
            throw error.at("rename", staged)
        }
        try makeDurable(path(queue, .new))
        wakeups?.ring(queue)
    }
}
