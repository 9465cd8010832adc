import DZSpool
import DZStore
import DZSystem
import Logging

/// The coordinator's state machine over the zoomdb and the spool. Used from one task only (the coordinator's
/// loop), which is why it may hold the database connection.
final class CoordinatorEngine: @unchecked Sendable {
    let spool: Spool
    let db: ZoomDB
    let catalog: JobCatalog
    let configuration: CoordinatorConfiguration
    let logger: Logger

    init(spool: Spool, configuration: CoordinatorConfiguration, catalog: JobCatalog, logger: Logger) throws {
        self.spool = spool
        self.configuration = configuration
        self.catalog = catalog
        self.logger = logger
        db = try ZoomDB(path: configuration.databasePath, allowNetworkFileSystem: configuration.allowNetworkDatabase)
        // As durable as the spool: a result leaves `results/` once its effect is committed (see `intakeResults`).
        try db.setDurableCommits(spool.sync)
        // Checkpoints (and their fsyncs, tens of ms on a busy disk) are the `Coordinator`'s checkpoint task's.
        try db.leaveCheckpointsToAnother()
        lostAppservers = configuration.recoverAfter.map { LostAppservers(limit: $0) }
    }

    /// Job outcomes and intake times for the metrics file, when there is one.
    var telemetry: CoordinatorTelemetry?

    /// What changed, for the `StatePublisher`, which writes what commands on every host read instead of the zoomdb.
    let changes = StateChanges()

    /// At start: every running job, every job that ended within `recent` seconds (a power loss may have lost
    /// the last document of either), the newest 1000 when nothing was ever published in this spool (a spool of an
    /// earlier dz), every project, and the summary.
    func markAllForPublishing(recent: Double = 3600) throws {
        let first = !spool.hasPublishedState
        for job in try db.jobs(state: .running, limit: 100_000) { changes.jobChanged(job.id) }
        for job in try db.jobs(finishedAfter: .now() + (-recent)) { changes.jobChanged(job.id) }
        if first { for job in try db.jobs(limit: 1000) { changes.jobChanged(job.id) } }
        for project in try db.knownProjects() { changes.projectChanged(project) }
        changes.summaryChanged()
        spool.purgePublishingTemporaries()
        changes.commit()
    }

    private let lostAppservers: LostAppservers?
    private var lastLostCheck = Timestamp(nanoseconds: 0)

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

    private var lastPurge = Timestamp(nanoseconds: 0)
    /// Steps left `dispatching` because the spool could not take their task file.
    private var redispatchPending = false

    /// Rescans both inboxes and checks step deadlines; about once a minute, purges their `tmp/` (no agent
    /// serves these queues, so nobody else does).
    func sweep() {
        guard Timestamp.now() >= intakePausedUntil else { return }
        spool.writePendingReasons()
        for queue in releasePending.sorted() {
            if (try? spool.releaseAll(queue)) != nil { releasePending.remove(queue) }
        }
        if redispatchPending {
            redispatchPending = false
            dispatch((try? db.steps(in: [.dispatching])) ?? [], checkSpool: true)
        }
        if Timestamp.now() - lastPurge > 60 {
            lastPurge = .now()
            for queue in [QueueName.results, .jobs] { spool.purgeTemporary(queue) }
        }
        for queue in [QueueName.jobs, .results] {
            setAsideUnreadableNames(in: queue)
            let names = ((try? FileSystem.names(in: spool.path(queue, .new))) ?? []).sorted()
            if let inbox {
                // Taken in by the loop in its order: results before requests.
                for name in names { inbox.appeared(name, in: queue) }
            } else {
                takeIn(names, in: queue)
            }
        }
        checkDeadlines()
        do { try startWaiting() } catch {
            logger.error("starting waiting jobs failed", metadata: ["error": "\(error)"])
        }
        if lostAppservers != nil, Timestamp.now() - lastLostCheck >= 5 {
            lastLostCheck = .now()
            do { try recoverLostAppservers() } catch {
                logger.error("checking for lost appservers failed", metadata: ["error": "\(error)"])
            }
        }
        changes.commit()
    }

    /// Submits a `recover` job for each project with instances on a lost appserver, unless one for the same
    /// project and appserver runs or was submitted within the limit (a failed recovery is tried again after
    /// that long, not in a loop).
    private func recoverLostAppservers() throws {
        guard let watch = lostAppservers else { return }
        let appservers = Set(try db.activeInstanceCounts().keys)
        let lost = watch.lost(among: appservers, heartbeats: spool.heartbeats())
        guard !lost.isEmpty else { return }
        let recent = try db.jobs(limit: 1000).filter {
            $0.kind == "recover" && ($0.state == .running || Timestamp.now() - $0.issuedAt < watch.limit)
        }
        for appserver in lost {
            for project in try db.projects(withInstancesOn: appserver) {
                guard !recent.contains(where: {
                    $0.project == project && $0.params["appserver"]?.stringValue == appserver
                }) else { continue }
                let request = JobRequest.submit(id: JobRequest.newJobID(), kind: "recover", project: project,
                                                params: ["appserver": .string(appserver)], issuedBy: "coordinator")
                try spool.drop(try request.taskFile(host: spool.host), into: .jobs)
                logger.notice("appserver lost: recovering", metadata: ["appserver": "\(appserver)",
                                                                       "project": "\(project)"])
            }
        }
    }

    /// Until when intake waits after a failure (a full disk, a database error), and how long the next wait is.
    var intakePausedUntil = Timestamp.distantPast
    private(set) var intakeBackoff = 0.0
    /// The results of batches that could not be recorded, each taken in alone until it is: a result whose effect
    /// can never be recorded then holds up no other.
    private var suspects = Set<String>()

    /// The most results taken in under one zoomdb transaction: a bound on the time a result waits for the others
    /// of its batch.
    static let resultBatchLimit = 128

    /// Takes in one file (see `takeIn(_:in:)`).
    func handle(_ name: String, in queue: QueueName) {
        takeIn([name], in: queue)
    }

    /// Whether this coordinator may still write (false once its lease is another's): checked before each batch.
    var mayWrite: @Sendable () -> Bool = { true }

    /// The loop's inbox, where a sweep puts the names it finds (without one, a sweep takes them in itself).
    var inbox: CoordinatorInbox?

    /// Steps dispatched whose result has not come (0 when the zoomdb cannot say).
    func stepsInFlight() -> Int { (try? db.stepCount(state: .dispatched)) ?? 0 }

    /// Takes in requests for about `seconds`, and while `more()` holds, one at least; returns the names not
    /// reached, in order.
    func takeIn(requests names: [String], for seconds: Double, while more: () -> Bool = { true }) -> [String] {
        let start = Timestamp.now()
        var index = 0
        while index < names.count, index == 0 || (Timestamp.now() - start < seconds && more()) {
            handle(names[index], in: .jobs)
            index += 1
        }
        return Array(names[index...])
    }

    /// Takes in files of `queue`, in order: results in batches of up to `resultBatchLimit`, each batch in one
    /// zoomdb transaction followed by one round of drops; requests one at a time.
    ///
    /// When an effect cannot be recorded (the zoomdb or the spool cannot be written), the files in hand go back to
    /// `new/` unchanged and intake pauses, 0.1 s doubling to 5 s: the sweep after the pause tries again, so that
    /// work moves on by itself once the fault is gone; the files of a failed batch then go one at a time until
    /// each has been taken in, so that one whose effect can never be recorded holds up no other. Names not
    /// reached during a pause are found by that sweep.
    func takeIn(_ names: [String], in queue: QueueName) {
        var rest = names[...]
        while let first = rest.first, Timestamp.now() >= intakePausedUntil, mayWrite() {
            let chunk = queue != .results || suspects.contains(first)
                ? [first] : Array(rest.prefix(Self.resultBatchLimit).prefix { !suspects.contains($0) })
            rest = rest.dropFirst(chunk.count)
            intake(chunk, in: queue)
        }
    }

    /// Takes in one batch: see `takeIn(_:in:)`.
    private func intake(_ names: [String], in queue: QueueName) {
        // A name that is not UTF-8 reaches here with its bad bytes replaced, a name no file has (and one that may
        // be too long to look up, which would pause all intake): it is set aside by its bytes instead.
        var names = names
        if names.contains(where: { $0.unicodeScalars.contains("\u{FFFD}") }) {
            setAsideUnreadableNames(in: queue)
            names = names.filter { name in
                !name.unicodeScalars.contains("\u{FFFD}") || FileSystem.exists(spool.path(queue, .new) + "/" + name)
            }
            guard !names.isEmpty else { return }
        }
        // What the intake committed goes to the publisher once it is done (its next tasks dropped).
        defer { changes.commit() }
        let intakeStarted = Timestamp.now()
        defer {
            // Each file of a batch waited for the whole batch: that is its intake time.
            let seconds = Timestamp.now() - intakeStarted
            for _ in names { telemetry?.intake(queue, seconds: seconds) }
        }
        do {
            if queue == .results {
                try intakeResults(names)
            } else {
                for name in names { try intakeRequest(name) }
            }
            intakeBackoff = 0
            if !suspects.isEmpty { suspects.subtract(names) }
        } catch {
            if names.count > 1 {
                // Bounded: a suspect that vanished (taken in by a coordinator after this one) is never removed.
                if suspects.count > 100_000 { suspects = [] }
                suspects.formUnion(names)
            }
            intakeBackoff = min(max(0.1, intakeBackoff * 2), 5)
            intakePausedUntil = .now() + intakeBackoff
            logger.error("intake failed: the files go back, intake pauses", metadata: [
                "queue": "\(queue)", "files": "\(names.count)", "first": "\(names.first ?? "")", "error": "\(error)",
                "pause_s": "\(intakeBackoff)",
            ])
            // Nothing else is in hand (intake is one batch at a time): every claim in cur/ is one of this batch.
            do { _ = try spool.releaseAll(queue) } catch {
                logger.error("could not put the files back: trying again after the pause", metadata: ["error": "\(error)"])
                releasePending.insert(queue)
            }
        }
    }

    /// Moves the inbox's names that are not UTF-8 to `failed/` (see `Spool.rejectUnreadableNames`).
    private func setAsideUnreadableNames(in queue: QueueName) {
        for name in spool.rejectUnreadableNames(in: queue) {
            logger.warning("a file name that is not UTF-8 moved to failed/", metadata: ["queue": "\(queue)", "file": "\(name)"])
        }
    }

    /// Inboxes whose failed intake could not be put back yet.
    private var releasePending = Set<QueueName>()

    // MARK: Results

    /// Takes in a batch of results: each taken from `new/` and read, their effects (the steps' ends, the jobs'
    /// next steps) recorded in one transaction, the next steps' tasks dropped, and only then the results retired
    /// to `done/`. A crash before the commit leaves them in `cur/`, put back at the next start; after it, the
    /// steps are final and a result seen again is retired as a duplicate.
    private func intakeResults(_ names: [String]) throws {
        var taken: [(file: TakenFile, result: ResultFile)] = []
        taken.reserveCapacity(names.count)
        for name in names {
            guard let file = try spool.take(name, in: .results) else { continue }
            do { taken.append((file, try ResultFile(parsing: file.bytes))) } catch {
                try spool.retire(file, failure: error)
            }
        }
        guard !taken.isEmpty else { return }
        let next = try db.transaction { () throws -> [StepRecord] in
            var jobs: [String] = []
            var seen = Set<String>()
            for (_, result) in taken {
                guard var step = try db.step(taskID: result.id.rawValue) else { continue }
                guard !step.state.isFinal else {
                    logger.debug("duplicate result ignored", metadata: ["task": "\(result.id)"])
                    continue
                }
                apply(result, to: &step)
                try record(&step)
                try db.update(step)
                try db.log(step.job, .stepEnd, stepEndMessage(step))
                if seen.insert(step.job).inserted { jobs.append(step.job) }
            }
            // Each job planned once for all of its results in the batch.
            var next: [StepRecord] = []
            for job in jobs { next += try advance(job) }
            return next
        }
        dispatch(next)
        for (file, _) in taken { try spool.retire(file) }
    }

    private func apply(_ result: ResultFile, to step: inout StepRecord) {
        step.attempt = result.attempt
        step.host = result.host.rawValue
        step.started = result.started
        step.finished = result.finished
        switch result.status {
        case .ok:
            step.state = .succeeded
            step.output = result.output
        case .error:
            step.state = result.error?.kind == "cancelled" ? .cancelled : .failed
            step.errorKind = result.error?.kind
            step.error = result.error?.message
        }
    }

    /// Lets the step's definition record what it produced; a failure to record fails the step.
    private func record(_ step: inout StepRecord) throws {
        guard step.state == .succeeded, let job = try db.job(step.job),
              let definition = catalog.kind(job.kind)?.step(step.definition), let onSuccess = definition.onSuccess
        else { return }
        changes.projectChanged(job.project)
        changes.summaryChanged()
        do {
            try onSuccess(job, step, db)
            // What was secret in the output (a database password) has been recorded where it belongs; the step's
            // own copy, which `dz job show` prints, keeps only a mask.
            step.output = step.output.map(Redaction.maskedOutput)
        } catch let failure as StepFailure {
            // The step's own verdict on its output (a command's exit status): the output stays as it was.
            step.state = .failed
            step.errorKind = failure.kind
            step.error = failure.message
        } catch {
            step.state = .failed
            step.errorKind = "record"
            step.error = "could not record the step's output: \(error)"
        }
    }

    private func stepEndMessage(_ step: StepRecord) -> String {
        var text = "\(step.name) \(step.state.rawValue)"
        if let host = step.host { text += " on \(host)" }
        if let attempt = step.attempt { text += " (attempt \(attempt)/\(step.maxAttempts))" }
        if let started = step.started, let finished = step.finished {
            text += " in \(Int(((finished - started) * 1000).rounded())) ms"
        }
        if step.state != .succeeded, let error = step.error { text += ": \(step.errorKind ?? "error"): \(error)" }
        return text
    }

    // MARK: Requests

    private func intakeRequest(_ name: String) throws {
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

    // MARK: Planning and dispatch

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
        if plan.job != job {
            if plan.job.stopping == .failing, job.stopping == nil {
                try withdrawWaiting(jobID, reason: "withdrawn: job failing")
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
        return plan.newSteps.filter { $0.state == .dispatching }
    }

    /// The planner of `kind` with this coordinator's settings.
    private func planner(_ kind: JobKind) -> JobPlanner {
        JobPlanner(kind: kind, queueWait: configuration.queueWait, hostnamePolicy: configuration.hostnamePolicy)
    }

    /// Jobs that logged that they wait for another (so that they say it once).
    private var waitingLogged = Set<String>()

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
    private func startWaiting() throws {
        for job in try db.runningJobs(started: false) where catalog.kind(job.kind)?.exclusive == true {
            try db.transaction { try advance(job.id) }
            try dispatchPending(of: job.id)
        }
    }

    /// Drops the task files of the job's steps recorded as `dispatching`.
    func dispatchPending(of jobID: String) throws {
        dispatch(try db.steps(of: jobID).filter { $0.state == .dispatching })
    }

    /// Drops one step's task and marks it dispatched. With `checkSpool` (after a restart), a task already
    /// anywhere in the spool is not dropped again.
    func dispatch(_ step: StepRecord, checkSpool: Bool) {
        dispatch([step], checkSpool: checkSpool)
    }

    /// Drops the steps' tasks, then marks those dropped dispatched, in one transaction. A step whose task could
    /// not be dropped, or whose mark could not be recorded, stays `dispatching` for the next sweep (which looks
    /// for its task in the spool first); one that can never be dropped fails.
    func dispatch(_ steps: [StepRecord], checkSpool: Bool = false) {
        guard !steps.isEmpty else { return }
        var dropped: [StepRecord] = []
        dropped.reserveCapacity(steps.count)
        for step in steps {
            if let step = drop(step, checkSpool: checkSpool) { dropped.append(step) }
        }
        guard !dropped.isEmpty else { return }
        do {
            try db.transaction {
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

    /// Drops one step's task; returns the step marked dispatched (not yet recorded), or nil when it was not
    /// dropped (see `dispatch(_:checkSpool:)`).
    private func drop(_ step: StepRecord, checkSpool: Bool) -> StepRecord? {
        var step = step
        do {
            let queue = try QueueName(step.queue)
            let task = try TaskFile(parsing: Array(step.taskFile.utf8), stem: step.taskID)
            let present = checkSpool && !spool.locations(of: step.taskID).isEmpty
            if !present {
                do {
                    try spool.drop(task, into: queue)
                } catch {
                    // Already waiting: the drop happened before a crash.
                    guard case .duplicateID = error else { throw error }
                }
            }
            step.state = .dispatched
            step.dispatched = .now()
            changes.jobChanged(step.job)
            return step
        } catch let error as SpoolError where error.isWriteFailure {
            // The spool cannot take the file now (a full disk): the step stays to be dispatched, at the next
            // sweep, rather than fail its job for a fault of the place.
            logger.error("dispatch failed: trying again at the next sweep", metadata: [
                "task": "\(step.taskID)", "error": "\(error)",
            ])
            redispatchPending = true
        } catch {
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
        return nil
    }

    /// Takes the job's tasks still waiting in `new/` back out of the spool (to `failed/` with `reason`), and marks
    /// their steps cancelled. Running tasks are stopped by the agents through the tombstone, or finish.
    func withdrawWaiting(_ jobID: String, reason: String) throws {
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
        }
    }

    /// Fails steps whose deadline passed with no final result (no agent serves the queue, or a host vanished),
    /// withdrawing or cancelling their tasks.
    func checkDeadlines() {
        let now = Timestamp.now()
        guard let overdue = try? db.steps(in: [.dispatched]).filter({ ($0.deadline ?? now) < now }) else { return }
        for var step in overdue {
            do {
                if let queue = try? QueueName(step.queue), let taken = try spool.take(step.taskID + ".json", in: queue) {
                    try spool.retire(taken, failure: BadInput("deadline", "withdrawn: past its deadline"))
                } else {
                    try spool.cancel(step.taskID, reason: "past its deadline", isJob: false)
                }
                try db.transaction {
                    step.state = .failed
                    step.errorKind = "deadline"
                    step.error = "no result by \(step.deadline?.rfc3339 ?? "its deadline")"
                    step.finished = now
                    try db.update(step)
                    try db.log(step.job, .stepEnd, "\(step.name) failed: \(step.error!)")
                    try advance(step.job)
                }
                try dispatchPending(of: step.job)
            } catch {
                logger.error("deadline handling failed", metadata: ["task": "\(step.taskID)", "error": "\(error)"])
            }
        }
    }
}
