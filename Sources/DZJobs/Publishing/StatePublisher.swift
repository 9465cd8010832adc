import DZSpool
import DZStore
import DZSystem
import Logging

/// Publishes what commands on every host need into the spool's `state/` (see `Spool.publish`): one document per
/// job (`JobDocument`), one per project (`ProjectDocument`) and a summary (`SummaryDocument`), so that no command
/// but the coordinator ever opens the zoomdb.
///
/// It runs in a task of its own with a read-only connection of its own, beside the coordinator's loop, which only
/// marks what changed (`StateChanges`): a step's next task is never delayed by a document. A round writes every
/// project marked, then every job (so that a command that saw a job end finds the project as that job left it),
/// then the summary (at most every `summaryInterval`); rounds are at least `roundGap` apart, so that under a burst
/// the many changes of a job are written once, and longer apart the longer a round took (twice its time), so that
/// publishing takes at most about a third of one core however busy the coordinator is. A running job's document is
/// rewritten at most every `runningJobInterval` (under a burst each step of each job would otherwise rewrite it);
/// a job's first document and the one that shows it ended are written at the next round. A job's document is made
/// of the parts that changed only (the job, its new log lines, the steps that changed), the rest kept from the
/// last round. A document that cannot be written (a full disk) is tried again a second later.
final class StatePublisher: @unchecked Sendable {
    let spool: Spool
    let databasePath: String
    let changes: StateChanges
    let logger: Logger
    var roundGap = 0.05
    var summaryInterval = 1.0
    var runningJobInterval = 0.25

    // The publisher's task only.
    private var db: ZoomDB?
    /// What a running job's document was made of, by job.
    private var parts: [String: JobParts] = [:]
    private var lastSummary = Timestamp.distantPast
    private var lastFailureLogged = Timestamp.distantPast

    init(spool: Spool, databasePath: String, changes: StateChanges, logger: Logger) {
        self.spool = spool
        self.databasePath = databasePath
        self.changes = changes
        self.logger = logger
    }

    /// Publishes until `changes` is finished or the task is cancelled, then once more what is still marked,
    /// unless `mayWrite` has turned false (the lease was lost: nothing more may be written).
    func run(mayWrite: @escaping @Sendable () -> Bool) async {
        var pending = StateChanges.Marks()
        var signals = changes.signals.makeAsyncIterator()
        while !Task.isCancelled {
            if pending.isEmpty, await signals.next() == nil { break }
            guard mayWrite() else { return }
            let failed: Bool
            let started = Timestamp.now()
            (pending, failed) = round(carrying: pending)
            let gap = failed ? 1 : max(roundGap, 2 * (Timestamp.now() - started))
            do { try await Task.sleep(seconds: gap) } catch { break }
        }
        if mayWrite() { _ = round(carrying: pending, final: true) }
    }

    /// One round: writes what is due; returns what must wait (the summary before its interval, what could not be
    /// written), and whether something could not be written.
    func round(carrying carried: StateChanges.Marks, final: Bool = false) -> (StateChanges.Marks, failed: Bool) {
        var marks = carried
        marks.merge(changes.take())
        guard !marks.isEmpty else { return (marks, false) }
        guard let db = open() else { return (marks, true) }
        var failed = false
        var waiting = StateChanges.Marks()
        for project in marks.projects.sorted() {
            let written = write(directory: ProjectDocument.directory, name: ProjectDocument.fileName(project)) {
                try db.reading { try ProjectDocument(db: db, project: project) }.map { .object($0.jsonObject) }
            }
            if !written {
                waiting.projects.insert(project)
                failed = true
            }
        }
        let now = Timestamp.now()
        for (id, ended) in marks.jobs.sorted(by: { $0.key < $1.key }) {
            if !final, !ended, let written = parts[id]?.written, now - written < runningJobInterval {
                waiting.jobs[id] = false
                continue
            }
            if !writeJob(id, db: db) {
                waiting.jobs[id] = ended
                failed = true
            }
        }
        if marks.summary {
            let now = Timestamp.now()
            if !final, now - lastSummary < summaryInterval {
                waiting.summary = true
            } else if write(directory: "", name: SummaryDocument.fileName, {
                .object(try db.reading { try SummaryDocument(db: db) }.jsonObject)
            }) {
                lastSummary = now
            } else {
                waiting.summary = true
                failed = true
            }
        }
        return (waiting, failed)
    }

    /// The parts of a job's document, serialized, as the last round made them.
    struct JobParts {
        var lastLogID: Int64 = 0
        /// When the document was last written.
        var written = Timestamp.distantPast
        var log: [[UInt8]] = []
        /// By step name: the step as last serialized (read without its task file), and the bytes. Comparing
        /// records is much cheaper than serializing them, and misses nothing (an output or error written while
        /// the state stays).
        var steps: [String: (StepRecord, [UInt8])] = [:]
    }

    /// Writes job `id`'s document from its parts, querying what may have changed (one snapshot): the job, its
    /// steps without their task files, its log lines after the last one written.
    private func writeJob(_ id: String, db: ZoomDB) -> Bool {
        do {
            var parts = self.parts[id] ?? JobParts()
            guard let (job, steps, newLines) = try db.reading({ () throws -> (JobRecord, [StepRecord], [JobLogLine])? in
                guard let job = try db.job(id) else { return nil }
                return (job, try db.stepsWithoutTaskFiles(of: id), try db.logLines(of: id, after: parts.lastLogID))
            }) else {
                self.parts[id] = nil
                return true
            }
            for line in newLines {
                parts.log.append(JSONValue.object(line.jsonObject).serialized())
                parts.lastLogID = line.id
            }
            var stepBytes: [[UInt8]] = []
            stepBytes.reserveCapacity(steps.count)
            for step in steps {
                if let (known, bytes) = parts.steps[step.name], known == step {
                    stepBytes.append(bytes)
                } else {
                    let bytes = JSONValue.object(JobDocument.publishedObject(step)).serialized()
                    parts.steps[step.name] = (step, bytes)
                    stepBytes.append(bytes)
                }
            }
            let document = JobDocument.assemble(job: JSONValue.object(JobDocument.publishedObject(job)).serialized(),
                                                log: parts.log, published: .now(), steps: stepBytes)
            try spool.publish(document + [0x0A], directory: JobDocument.directory, name: JobDocument.fileName(id))
            parts.written = .now()
            // An ended job changes no more: nothing of it is kept.
            self.parts[id] = job.state.isFinal ? nil : parts
            return true
        } catch {
            self.parts[id] = nil
            logFailure("publishing state failed: trying again", "jobs/\(id).json: \(error)")
            return false
        }
    }

    /// The publisher's own read-only connection, opened on first use.
    private func open() -> ZoomDB? {
        if let db { return db }
        do { db = try ZoomDB(readOnlyAt: databasePath, allowNetworkFileSystem: true) } catch {
            logFailure("cannot open the zoomdb to publish from it", "\(error)")
        }
        return db
    }

    /// Writes one document (nothing when `document` gives nil: nothing to say); false when it must be tried again.
    private func write(directory: String, name: String, _ document: () throws -> JSONValue?) -> Bool {
        do {
            guard let value = try document() else { return true }
            try spool.publish(value.serialized() + [0x0A], directory: directory, name: name)
            return true
        } catch {
            logFailure("publishing state failed: trying again", "\(directory.isEmpty ? name : directory + "/" + name): \(error)")
            return false
        }
    }

    private func logFailure(_ message: Logger.Message, _ detail: String) {
        guard Timestamp.now() - lastFailureLogged > 60 else { return }
        lastFailureLogged = .now()
        logger.error(message, metadata: ["error": "\(detail)"])
    }
}
