import DZSpool
import DZSystem
import Logging

extension Agent {
    /// What is left of a task once its handler has ended: settling it (with fsync, on the spool threads). The
    /// worker that ran the handler may take the next name meanwhile; the task stays held until it has settled.
    typealias PendingSettle = @Sendable () async -> Void

    /// Tries one name: claims it, runs its handler, and reports the outcome, or, with fsync, returns the
    /// settling of it for the worker to await alongside its next tasks.
    func process(_ item: Scheduler.Item, _ scheduler: Scheduler, _ running: RunningTasks,
                 _ health: SpoolHealth, _ threads: BlockingThreads) async -> PendingSettle?
    {
        let outcome: ClaimOutcome
        do {
            // A claim syncs nothing (see dz-spool(5), Durability): it stays on this thread.
            outcome = try spool.claim(item.name, in: item.queue, leaseSeconds: configuration.leaseSeconds,
                                      settle: configuration.settle, logged: false)
        } catch {
            logger.error("claim failed", metadata: ["queue": "\(item.queue)", "file": "\(item.name)", "error": "\(error)"])
            if error.isWriteFailure { await health.failed(error.description) }
            await scheduler.postpone(item, until: .now() + configuration.rescanInterval)
            return nil
        }
        switch outcome {
        case .claimed(let claim):
            return await run(claim, running, health, threads)
        case .notDue(let due):
            await scheduler.postpone(item, until: due)
        case .unsettled(let due, let seen):
            await scheduler.postpone(item, until: due, unlessChangedFrom: seen)
        case .rejected(let bad):
            telemetry?.ended(item.queue, .rejected)
            logger.warning("bad input moved to failed/", metadata: [
                "queue": "\(item.queue)", "file": "\(item.name)", "reason": "\(bad.message)",
            ])
        case .lost, .ignored:
            logger.trace("claim lost to another agent", metadata: ["file": "\(item.name)"])
        }
        return nil
    }

    /// Runs a claimed task's handler within its time limit and settles the claim, or, with fsync, returns the
    /// settling. The claim is not logged yet: its `claimed` line goes out with `started` in one write.
    func run(_ claim: Claim, _ running: RunningTasks, _ health: SpoolHealth, _ threads: BlockingThreads) async
        -> PendingSettle?
    {
        let task = claim.task
        let claimed = spool.claimedEvent(claim)
        guard let handler = registry.handler(for: task.task) else {
            spool.audit.record(claimed.event, claimed.fields)
            let known = registry.names.joined(separator: ", ")
            do {
                try spool.reject(claim, BadInput("unknown-task", "unknown task \"\(task.task)\": this agent knows \(known)"))
            } catch {
                logger.error("could not move bad task aside", metadata: ["task": "\(task.id)", "error": "\(error)"])
            }
            logger.warning("unknown task moved to failed/", metadata: ["task": "\(task.id)", "name": "\(task.task)"])
            telemetry?.ended(claim.queue, .rejected)
            return nil
        }
        let started = Timestamp.now()
        if spool.isCancelled(task) {
            spool.audit.record(claimed.event, claimed.fields)
            do {
                try report(claim, .error, output: [:], error: Agent.cancelledFailure, started: started)
            } catch {
                logger.error("could not settle a cancelled task", metadata: ["task": "\(task.id)", "error": "\(error)"])
            }
            logger.info("task of a cancelled job not started", metadata: ["task": "\(task.id)"])
            telemetry?.ended(claim.queue, .cancelled)
            return nil
        }
        running.insert(claim)
        spool.audit.record([claimed, ("started", [("queue", claim.queue.rawValue), ("task", task.id.rawValue),
                                                  ("job", task.job), ("attempt", String(task.attempt))])],
                           at: started)
        var taskLogger = logger
        taskLogger[metadataKey: "task"] = "\(task.id)"
        let context = TaskContext(task: task, queue: claim.queue, host: spool.host, logger: taskLogger)
        let limit = task.timeoutSeconds ?? configuration.taskTimeout
        let execution = Task { [alarms] in await Agent.execute(handler, context, timeout: limit, alarms: alarms) }
        running.attach(claim, execution)
        let outcome = await execution.value
        let stopped = running.beginSettling(claim)
        let ranFor = Timestamp.now() - started
        // Due since it was dropped, or since its retry's backoff or not_before ran out.
        let due = max(task.created ?? started, task.notBefore ?? .distantPast)
        // With fsync, on the agent's own threads, and the worker goes on to its next name meanwhile: the fsyncs of
        // tasks settling at once fold into one (group commit), and the more settle at once the fewer fsyncs each
        // task costs. Without, nothing blocks for long and the hop to another thread would only cost.
        guard spool.sync else {
            await finishSettling(claim, running, health, pickup: started - due, ranFor: ranFor) { () throws(SpoolError) in
                try settle(claim, outcome, stopped, started: started)
            }
            return nil
        }
        return { [self] in
            let ended: Result<AgentTelemetry.Outcome?, SpoolError> = await threads.run {
                Result { () throws(SpoolError) -> AgentTelemetry.Outcome? in
                    try settle(claim, outcome, stopped, started: started)
                }
            }
            await finishSettling(claim, running, health, pickup: started - due, ranFor: ranFor) { () throws(SpoolError) in
                try ended.get()
            }
        }
    }

    /// Counts a settled task, or, when its outcome could not be written (a full disk, an I/O error), gives it
    /// back: into `new/` to run again (a rename needs no space), or, if even that fails, it is let go: its lease
    /// runs out and a reaper, this agent's own among them, takes it back. Claiming waits until the spool can be
    /// written again. The claim counts as running until here: --drain must not see an empty agent while a retry
    /// is on its way back into `new/`.
    private func finishSettling(_ claim: Claim, _ running: RunningTasks, _ health: SpoolHealth, pickup: Double,
                                ranFor: Double,
                                _ settled: () throws(SpoolError) -> AgentTelemetry.Outcome?) async
    {
        defer { running.remove(claim) }
        do {
            if let ended = try settled() { telemetry?.ended(claim.queue, ended, pickup: pickup, run: ranFor) }
        } catch {
            logger.error("could not settle task: giving it back, not claiming until the spool can be written",
                         metadata: ["task": "\(claim.task.id)", "error": "\(error)"])
            do { try spool.release(claim) } catch {
                logger.error("could not give the task back either: its lease will run out",
                             metadata: ["task": "\(claim.task.id)", "error": "\(error)"])
            }
            await health.failed(error.description)
        }
    }

    /// Settles a claim by how its handler ended (reports, retries, or gives it back) and says which it was.
    private func settle(_ claim: Claim, _ outcome: ExecutionOutcome, _ stopped: RunningTasks.StopReason?,
                        started: Timestamp) throws(SpoolError) -> AgentTelemetry.Outcome?
    {
        let task = claim.task
        switch (outcome, stopped) {
        case (_, .cancelled?):
            try report(claim, .error, output: [:], error: Agent.cancelledFailure, started: started)
            return .cancelled
        case (_, .leaseLost?):
            spool.audit.record("lease-lost", [("queue", claim.queue.rawValue), ("task", task.id.rawValue),
                                              ("attempt", String(task.attempt))])
            return .leaseLost
        case (.cancelled, _), (.timedOut, .shutdown?), (.failed, .shutdown?):
            try spool.release(claim)
            logger.info("released at shutdown", metadata: ["task": "\(task.id)"])
            return .released
        case (.succeeded(let output), _):
            try report(claim, .ok, output: output, error: nil, started: started)
            return .ok
        case (.failed(let failure), _):
            return try settleFailure(claim, failure, started: started) ? .retried : .failed
        case (.timedOut(let seconds), _):
            return try settleFailure(claim, .timeout(seconds), started: started) ? .retried : .failed
        }
    }

    static let cancelledFailure = ResultFile.Failure(kind: "cancelled", message: "the job was cancelled")

    /// Sends a failed task back to retry, or reports the failure; returns whether it will be retried.
    @discardableResult
    private func settleFailure(_ claim: Claim, _ failure: TaskFailure, started: Timestamp) throws(SpoolError) -> Bool {
        if failure.retryable, claim.task.attempt < claim.task.maxAttempts {
            _ = try spool.retry(claim, failure: failure.resultFailure)
            logger.info("task failed, will retry", metadata: [
                "task": "\(claim.task.id)", "attempt": "\(claim.task.attempt)", "kind": "\(failure.kind)",
            ])
            return true
        } else {
            try report(claim, .error, output: [:], error: failure.resultFailure, started: started)
            logger.warning("task failed", metadata: [
                "task": "\(claim.task.id)", "kind": "\(failure.kind)",
                "error": "\(Redaction.mask(failure.message, secrets: claim.secrets))",
            ])
            return false
        }
    }

    private func report(_ claim: Claim, _ status: ResultFile.Status, output: [String: JSONValue],
                        error: ResultFile.Failure?, started: Timestamp) throws(SpoolError)
    {
        let masked = error.map { ResultFile.Failure(kind: $0.kind, message: Redaction.mask($0.message, secrets: claim.secrets)) }
        var result = ResultFile(task: claim.task, queue: claim.queue, status: status, output: output, error: masked,
                                host: spool.host, pid: spool.pid, started: started, finished: .now())
        var encoded = result.encoded()
        if encoded.count > TaskFile.maxSize {
            result.status = .error
            result.output = [:]
            result.error = ResultFile.Failure(kind: "output-too-large",
                                              message: "the task's output is over \(TaskFile.maxSize) bytes")
            encoded = result.encoded()
        }
        scrub(claim)
        if case .leaseLost = try spool.finish(claim, result: result, encoded: encoded) {
            logger.warning("lease lost before the result was reported: result discarded",
                           metadata: ["task": "\(claim.task.id)"])
        }
    }

    /// Rewrites the claimed file without the arguments its handler calls secret, so that they do not stay in
    /// `done/` or `failed/`; a failure is logged and the task still ends (its file then keeps them).
    private func scrub(_ claim: Claim) {
        guard let handler = registry.handler(for: claim.task.task), !handler.scrubbedArguments.isEmpty else { return }
        var task = claim.task
        for name in handler.scrubbedArguments where task.args[name] != nil { task.args[name] = .string("***") }
        guard task.args != claim.task.args else { return }
        do { try spool.rewriteClaimed(claim, as: task) } catch {
            logger.error("could not rewrite the task without its secret arguments",
                         metadata: ["task": "\(claim.task.id)", "error": "\(error)"])
        }
    }

    /// Runs a handler within its time limit: past it, the handler is cancelled (it must stop soon after) and the
    /// outcome is `.timedOut` (`alarms`' clock must run meanwhile). Cancellation of the calling task cancels the
    /// handler.
    static func execute(_ handler: any TaskHandler, _ context: TaskContext, timeout: Double,
                        alarms: Alarms) async -> ExecutionOutcome
    {
        let work = Task { () -> ExecutionOutcome in
            do {
                return .succeeded(try await handler.run(context))
            } catch let failure as TaskFailure {
                return .failed(failure)
            } catch is CancellationError {
                return .cancelled
            } catch {
                return .failed(TaskFailure(kind: "error", message: "\(error)", retryable: false))
            }
        }
        let alarm = alarms.arm(after: timeout) { work.cancel() }
        let outcome = await withTaskCancellationHandler { await work.value } onCancel: { work.cancel() }
        return alarm.disarm() ? .timedOut(timeout) : outcome
    }
}
