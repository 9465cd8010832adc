import DZSystem

/// What the reaper did with one file in `cur/`.
public enum ReapAction: Sendable, Equatable, CustomStringConvertible {
    /// Put back into `new/` with attempt + 1 (the holder died or its lease expired).
    case requeued(TaskID, attempt: Int)
    /// Past `max_attempts`: moved to `failed/`, an error result delivered.
    case failed(TaskID)
    /// The holder died with its outcome staged but not committed: committed for it, delivered, not run again.
    case recovered(TaskID)
    /// The holder had committed, then died or stopped: its outcome published and the task put away for it.
    case completed(TaskID)
    /// Its holders died too often while holding it: set aside in `failed/` with kind `poison`.
    case poisoned(TaskID)
    /// A staged outcome never committed, or a stray file: moved to `failed/`.
    case movedAside(String)

    /// One stable line for people and scripts: `requeued <id> attempt=<n>`, `failed <id>`, `recovered <id>`,
    /// `completed <id>`, `poisoned <id>`, `moved-aside <file>`.
    public var description: String {
        switch self {
        case .requeued(let id, let attempt): "requeued \(id) attempt=\(attempt)"
        case .failed(let id): "failed \(id)"
        case .recovered(let id): "recovered \(id)"
        case .completed(let id): "completed \(id)"
        case .poisoned(let id): "poisoned \(id)"
        case .movedAside(let file): "moved-aside \(file)"
        }
    }
}

extension Spool {
    /// Why a claim is taken back.
    enum StaleReason: String {
        case deadHolder = "holder-died"
        case leaseExpired = "lease-expired"
    }

    /// How many holders may die while holding one task before it is set aside as poison.
    public static let defaultPoisonLimit = 3

    /// Takes back every stale claim in the queue's `cur/`: those whose lease (from the claim's name, at most a
    /// day) expired more than `skew` seconds ago, and at once those of this host whose process is gone. A task
    /// still heartbeating is never taken; this process's own claims are left alone while `holding` says it has
    /// them in hand (one it let go of, because settling it failed, expires like any other).
    ///
    /// Also completes what holders committed and did not finish, sets aside outcomes staged but never committed,
    /// and counts the deaths of holders: a task whose holders on this host died `poisonLimit` times while holding
    /// it is moved to `failed/` with kind `poison` (its processing, not bad luck, is what kills them).
    /// `leaseSeconds` is the lease of this process's own claim while it reaps.
    public func reap(
        _ queue: QueueName, leaseSeconds: Int, skew: Double = 2, now: Timestamp = .now(),
        poisonLimit: Int = Spool.defaultPoisonLimit, holding: (ClaimName) -> Bool = { _ in false }
    ) throws(SpoolError) -> [ReapAction] {
        let dir = path(queue, .cur)
        let names: [String]
        do { names = try FileSystem.names(in: dir) } catch .noSuchFileOrDirectory { return [] } catch {
            throw error.at("list", dir)
        }
        var actions: [ReapAction] = []
        let nameSet = Set(names)
        for fileName in names.sorted() where !fileName.hasPrefix(".") {
            guard let status = try? FileSystem.linkStatus(dir + "/" + fileName) else { continue }
            let age = now - status.lastTouched
            let entry = CurEntry(fileName: fileName)
            switch entry {
            case .claim(let claim):
                guard let reason = staleReason(claim, age: age, skew: skew, holding: holding) else { continue }
                if let action = try takeBack(claim, in: queue, reason: reason, leaseSeconds: leaseSeconds,
                                             poisonLimit: poisonLimit, now: now) {
                    actions.append(action)
                }
            case .committed(let claim, let outcome):
                guard staleReason(claim, age: age, skew: skew, holding: holding) != nil else { continue }
                if let action = try completeCommitted(claim, outcome, in: queue, leaseSeconds: leaseSeconds) {
                    actions.append(action)
                }
            case .staged(let claim):
                // Beside its claim or its commit, a staged outcome is work in progress.
                let siblings = [claim.fileName] + ClaimName.Outcome.allCases.map(claim.committedName)
                guard !siblings.contains(where: nameSet.contains),
                      let reason = staleReason(claim, age: age, skew: skew + 5, holding: holding) else { continue }
                if let action = try moveStray(dir + "/" + fileName, fileName, queue, "superseded",
                                              "an outcome its holder staged but never committed (\(reason.rawValue)): "
                                                  + "the task was taken back and runs again") {
                    actions.append(action)
                }
            case .deaths(let id):
                // Kept while the task may come back; a day after its last death, with no claim or waiting file
                // of that id, nobody will read it again.
                guard age > 86_400, !names.contains(where: { $0.hasPrefix(id.rawValue + "@") }),
                      !FileSystem.exists(path(queue, .new) + "/" + id.rawValue + ".json") else { continue }
                try? FileSystem.unlink(dir + "/" + fileName)
            case .other:
                if age > 600, let action = try moveStray(dir + "/" + fileName, fileName, queue, "stray",
                                                         "a file in cur/ that is not a claim") {
                    actions.append(action)
                }
            }
        }
        return actions
    }

    /// Why the claim (or a file beside it) named `claim` is stale, or nil while its holder may still act.
    private func staleReason(_ claim: ClaimName, age: Double, skew: Double, holding: (ClaimName) -> Bool)
        -> StaleReason?
    {
        if claim.host == host && claim.pid == pid {
            if holding(claim) { return nil }
        } else if claim.host == host && !Host.isAlive(pid: claim.pid) {
            return .deadHolder
        }
        return age > Double(claim.effectiveLeaseSeconds) + skew ? .leaseExpired : nil
    }

    private func moveStray(_ source: String, _ fileName: String, _ queue: QueueName, _ kind: String, _ why: String)
        throws(SpoolError) -> ReapAction?
    {
        guard let placed = try moveAside(source, as: fileName, in: queue, to: .failed) else { return nil }
        writeReason(beside: placed, queue: queue, fields: [("file", fileName), ("kind", kind), ("reason", why)])
        audit.record("moved-aside", [("queue", queue.rawValue), ("file", fileName), ("kind", kind),
                                     ("moved_to", relative(placed))])
        return .movedAside(fileName)
    }

    /// Takes one stale claim: first renamed to this process's own claim name (exactly one of the reapers and the
    /// holder, whose commit renames the same file, wins), then counted as a death if its holder died, and settled
    /// from its staged outcome if its holder died after staging one, else requeued with attempt + 1 or failed past
    /// max_attempts. The reaper is the holder from the rename on: it finishes or retries through the same fenced
    /// commit as any holder.
    func takeBack(
        _ stale: ClaimName, in queue: QueueName, reason: StaleReason, leaseSeconds: Int, poisonLimit: Int,
        now: Timestamp
    ) throws(SpoolError) -> ReapAction? {
        let dir = path(queue, .cur)
        let mine = ClaimName.next(id: stale.id, host: host, pid: pid, leaseSeconds: leaseSeconds)
        let minePath = dir + "/" + mine.fileName
        do {
            try FileSystem.rename(dir + "/" + stale.fileName, minePath)
        } catch {
            if !FileSystem.exists(minePath) {
                if error == .noSuchFileOrDirectory { return nil }
                throw error.at("rename", dir + "/" + stale.fileName)
            }
        }
        try? FileSystem.touch(minePath)
        let fields: [(String, String?)] = [("queue", queue.rawValue), ("task", stale.id.rawValue),
                                           ("holder", "\(stale.host.rawValue)/\(stale.pid)"),
                                           ("reason", reason.rawValue)]
        if reason == .deadHolder {
            // Counted before the file is read: reading it may be what kills.
            let deaths = recordDeath(of: stale, in: queue)
            if deaths >= poisonLimit {
                return try quarantine(minePath, mine, in: queue, deaths: deaths, lastHolder: stale, now: now)
            }
        }

        let read = readClaimed(minePath, kind: (try? FileSystem.linkStatus(minePath))?.kind ?? .regular)
        guard case .success(let (bytes, _)) = read, let task = try? TaskFile(parsing: bytes, stem: stale.id.rawValue)
        else {
            _ = try rejectClaimed(minePath, originalName: stale.id.rawValue + ".json", in: queue,
                                  BadInput("unreadable", "a claimed task that no longer parses"), task: nil)
            return .movedAside(stale.id.rawValue + ".json")
        }
        let claim = Claim(queue: queue, name: mine, task: task, path: minePath, claimed: now)

        let staged = dir + "/" + stale.stagedResultName
        if FileSystem.exists(staged) {
            // Its holder had staged an outcome and never committed it. Dead, it cannot commit any more: the outcome
            // is committed for it. Alive (a lease that ran out), it fails to commit (the claim is ours now) and the
            // outcome is kept aside for the record while the task runs again.
            if reason == .deadHolder, case .contents(let resultBytes, _)? = try? FileIO.read(staged, limit: 16 << 20),
               let result = try? ResultFile(parsing: resultBytes), result.id == task.id,
               (try? FileSystem.rename(staged, dir + "/" + mine.stagedResultName)) != nil
            {
                let outcome: ClaimName.Outcome = result.status == .ok ? .ok : .error
                do { try FileSystem.rename(minePath, dir + "/" + mine.committedName(outcome)) } catch {
                    throw error.at("rename", minePath)
                }
                audit.record("recovered", fields + [("attempt", String(task.attempt))])
                _ = try complete(mine, outcome, task: task, in: queue, result: result, secrets: claim.secrets, by: nil)
                try? FileSystem.unlink(dir + "/" + task.id.rawValue + ".deaths")
                return .recovered(task.id)
            }
            _ = try moveStray(staged, stale.stagedResultName, queue, "superseded",
                              "an outcome its holder staged but never committed (\(reason.rawValue)): the task runs again")
        }

        if task.attempt >= task.maxAttempts {
            let failure = ResultFile.Failure(
                kind: reason.rawValue,
                message: "attempt \(task.attempt) of \(task.maxAttempts) was lost: its holder \(stale.host.rawValue) pid \(stale.pid) "
                    + (reason == .deadHolder ? "died" : "stopped renewing its lease"))
            let result = ResultFile(task: task, queue: queue, status: .error, error: failure, host: host, pid: pid,
                                    started: nil, finished: now)
            audit.record("reaped", fields + [("attempt", String(task.attempt)), ("outcome", "failed")])
            _ = try finish(claim, result: result)
            return .failed(task.id)
        }
        audit.record("reaped", fields + [("attempt", String(task.attempt + 1)),
                                         ("not_before", (now + task.retryDelay()).rfc3339), ("outcome", "requeued")])
        let failure = ResultFile.Failure(kind: reason.rawValue, message: "taken back from \(stale.host.rawValue)/\(stale.pid)")
        _ = try retry(claim, failure: failure, now: now)
        return .requeued(task.id, attempt: task.attempt + 1)
    }

    /// Completes what the holder of `name` committed and did not finish (it died, or stopped past its lease):
    /// publishes the staged outcome and puts the task away. Steps the holder did meanwhile are not repeated.
    private func completeCommitted(_ name: ClaimName, _ outcome: ClaimName.Outcome, in queue: QueueName,
                                   leaseSeconds: Int) throws(SpoolError) -> ReapAction?
    {
        let committed = path(queue, .cur) + "/" + name.committedName(outcome)
        guard case .contents(let bytes, _)? = try? FileIO.read(committed, limit: TaskFile.maxSize),
              let task = try? TaskFile(parsing: bytes, stem: name.id.rawValue) else { return nil }
        let me = ClaimName.next(id: name.id, host: host, pid: pid, leaseSeconds: leaseSeconds)
        audit.record("completing", [("queue", queue.rawValue), ("task", name.id.rawValue),
                                    ("holder", "\(name.host.rawValue)/\(name.pid)"), ("outcome", outcome.rawValue)])
        _ = try complete(name, outcome, task: task, in: queue, result: nil, secrets: Redaction.secrets(in: task.args),
                         by: me)
        return .completed(name.id)
    }

    /// Sets aside a task whose holders kept dying: to `failed/` with kind `poison`, with an error result for
    /// whoever waits for it when the file still reads as a task.
    private func quarantine(_ minePath: String, _ mine: ClaimName, in queue: QueueName, deaths: Int,
                            lastHolder: ClaimName, now: Timestamp) throws(SpoolError) -> ReapAction
    {
        let message = "its holder died \(deaths) times while holding it (the last: \(lastHolder.host.rawValue) pid "
            + "\(lastHolder.pid)): set aside so that it stops killing agents"
        audit.record("poison", [("queue", queue.rawValue), ("task", mine.id.rawValue), ("deaths", String(deaths))])
        try? FileSystem.unlink(path(queue, .cur) + "/" + mine.id.rawValue + ".deaths")
        if case .success(let (bytes, _)) = readClaimed(minePath, kind: .regular),
           let task = try? TaskFile(parsing: bytes, stem: mine.id.rawValue)
        {
            let claim = Claim(queue: queue, name: mine, task: task, path: minePath, claimed: now)
            let result = ResultFile(task: task, queue: queue, status: .error,
                                    error: ResultFile.Failure(kind: "poison", message: message),
                                    host: host, pid: pid, started: nil, finished: now)
            _ = try finish(claim, result: result)
        } else {
            _ = try rejectClaimed(minePath, originalName: mine.id.rawValue + ".json", in: queue,
                                  BadInput("poison", message), task: nil)
        }
        return .poisoned(mine.id)
    }

    /// Deletes files in the queue's `tmp/` older than `olderThan` seconds: writers that died mid-write.
    /// Returns how many were purged.
    @discardableResult
    public func purgeTemporary(_ queue: QueueName, olderThan: Double = 3600, now: Timestamp = .now()) -> Int {
        let dir = path(queue, .tmp)
        guard let names = try? FileSystem.names(in: dir) else { return 0 }
        var purged = 0
        for name in names {
            let file = dir + "/" + name
            guard let status = try? FileSystem.linkStatus(file), status.kind != .directory,
                  now - status.lastTouched > olderThan else { continue }
            if (try? FileSystem.unlink(file)) != nil {
                purged += 1
                audit.record("purged", [("queue", queue.rawValue), ("file", "tmp/" + name),
                                        ("age_s", String(Int(saturating: now - status.lastTouched)))])
            }
        }
        return purged
    }
}
