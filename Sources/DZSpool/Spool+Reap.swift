import DZSystem

/// What the reaper did with one file in `cur/`.
public enum ReapAction: Sendable, Equatable, CustomStringConvertible {
    /// Put back into `new/` with attempt + 1 (the holder died or its lease expired).
    case requeued(TaskID, attempt: Int)
    /// Past `max_attempts`: moved to `failed/`, an error result delivered.
    case failed(TaskID)
    /// A result was staged beside the claim: delivered and settled, not run again.
    case recovered(TaskID)
    /// A staged result whose claim is gone, or a stray file: moved to `failed/`.
    case movedAside(String)

    /// One stable line for people and scripts: `requeued <id> attempt=<n>`, `failed <id>`, `recovered <id>`,
    /// `moved-aside <file>`.
    public var description: String {
        switch self {
        case .requeued(let id, let attempt): "requeued \(id) attempt=\(attempt)"
        case .failed(let id): "failed \(id)"
        case .recovered(let id): "recovered \(id)"
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

    /// Takes back every stale claim in the queue's `cur/`: those whose lease (from the claim's name) expired more
    /// than `skew` seconds ago, and at once those of this host whose process is gone. A task still heartbeating is
    /// never taken. `leaseSeconds` is the lease of this process's own claim while it reaps.
    public func reap(_ queue: QueueName, leaseSeconds: Int, skew: Double = 2, now: Timestamp = .now())
        throws(SpoolError) -> [ReapAction]
    {
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
            guard let claim = ClaimName(fileName: fileName) else {
                // A staged result waits beside its claim; alone, and older than any lease, its claim was lost.
                if fileName.hasSuffix(".result") {
                    let claimFile = String(fileName.dropLast(7)) + ".json"
                    let leaseOfClaim = ClaimName(fileName: claimFile)?.leaseSeconds ?? 60
                    if !nameSet.contains(claimFile), age > Double(leaseOfClaim) + skew + 5 {
                        if let action = try moveStray(dir + "/" + fileName, fileName, queue, "orphan-result",
                                                      "a staged result whose claim was lost") {
                            actions.append(action)
                        }
                    }
                } else if age > 600 {
                    if let action = try moveStray(dir + "/" + fileName, fileName, queue, "stray",
                                                  "a file in cur/ that is not a claim") {
                        actions.append(action)
                    }
                }
                continue
            }
            if claim.host == host && claim.pid == pid { continue }
            let reason: StaleReason
            if claim.host == host && !Host.isAlive(pid: claim.pid) {
                reason = .deadHolder
            } else if age > Double(claim.leaseSeconds) + skew {
                reason = .leaseExpired
            } else {
                continue
            }
            if let action = try takeBack(claim, in: queue, reason: reason, leaseSeconds: leaseSeconds, now: now) {
                actions.append(action)
            }
        }
        return actions
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

    /// Takes one stale claim: first renamed to this process's own claim name (exactly one reaper wins), then
    /// settled from its staged result if it has one, else requeued with attempt + 1 or failed past max_attempts.
    func takeBack(_ stale: ClaimName, in queue: QueueName, reason: StaleReason, leaseSeconds: Int, now: Timestamp)
        throws(SpoolError) -> ReapAction?
    {
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

        let read = readClaimed(minePath, kind: (try? FileSystem.linkStatus(minePath))?.kind ?? .regular)
        guard case .success(let (bytes, _)) = read, let task = try? TaskFile(parsing: bytes, stem: stale.id.rawValue)
        else {
            _ = try rejectClaimed(minePath, originalName: stale.id.rawValue + ".json", in: queue,
                                  BadInput("unreadable", "a claimed task that no longer parses"), task: nil)
            return .movedAside(stale.id.rawValue + ".json")
        }

        let staged = dir + "/" + stale.stagedResultName
        if case .contents(let resultBytes, _)? = try? FileIO.read(staged, limit: 16 << 20),
           let result = try? ResultFile(parsing: resultBytes)
        {
            audit.record("recovered", fields + [("attempt", String(task.attempt))])
            _ = try settle(claimPath: minePath, staged: staged, task: task, queue: queue, result: result,
                           secrets: Redaction.secrets(in: task.args))
            return .recovered(task.id)
        }

        if task.attempt >= task.maxAttempts {
            let failure = ResultFile.Failure(
                kind: reason.rawValue,
                message: "attempt \(task.attempt) of \(task.maxAttempts) was lost: its holder \(stale.host.rawValue) pid \(stale.pid) "
                    + (reason == .deadHolder ? "died" : "stopped renewing its lease"))
            let result = ResultFile(task: task, queue: queue, status: .error, error: failure, host: host, pid: pid,
                                    started: nil, finished: now)
            let claim = Claim(queue: queue, name: mine, task: task, path: minePath, claimed: now)
            audit.record("reaped", fields + [("attempt", String(task.attempt)), ("outcome", "failed")])
            _ = try finish(claim, result: result)
            return .failed(task.id)
        }
        var next = task
        next.attempt += 1
        next.notBefore = now + task.retryDelay()
        try requeue(claimPath: minePath, task: next, in: queue)
        audit.record("reaped", fields + [("attempt", String(next.attempt)), ("not_before", next.notBefore?.rfc3339),
                                         ("outcome", "requeued")])
        return .requeued(next.id, attempt: next.attempt)
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
                                        ("age_s", String(Int(now - status.lastTouched)))])
            }
        }
        return purged
    }
}
