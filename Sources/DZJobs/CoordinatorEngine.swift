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

    // MARK: State the extensions share

    /// Watches the appservers' heartbeats, when lost ones are recovered; and when the sweep last looked.
    let lostAppservers: LostAppservers?
    var lastLostCheck = Timestamp(nanoseconds: 0)

    /// When the sweep last purged the inboxes' `tmp/`.
    var lastPurge = Timestamp(nanoseconds: 0)
    /// Steps left `dispatching` because the spool could not take their task file.
    var redispatchPending = false

    /// Until when intake waits after a failure (a full disk, a database error), and how long the next wait is.
    var intakePausedUntil = Timestamp.distantPast
    var intakeBackoff = 0.0
    /// The results of batches that could not be recorded, each taken in alone until it is: a result whose effect
    /// can never be recorded then holds up no other.
    var suspects = Set<String>()

    /// The most results taken in under one zoomdb transaction: a bound on the time a result waits for the others
    /// of its batch.
    static let resultBatchLimit = 128
    /// The most requests taken in under one zoomdb transaction (a burst of submissions: one commit, one drop round
    /// and one retirement for each batch instead of each request). With fsync, four gave a burst of 200 jobs the
    /// same 40% more jobs a second as eight, without the longer turns that made eight's results wait longer (the
    /// next-step p99 under the burst: 16-25 ms with four, 20-45 ms with eight, 19-22 ms one at a time).
    static let requestBatchLimit = 4

    /// Whether this coordinator may still write (false once its lease is another's): checked before each batch.
    var mayWrite: @Sendable () -> Bool = { true }

    /// The loop's inbox, where a sweep puts the names it finds (without one, a sweep takes them in itself).
    var inbox: CoordinatorInbox?

    /// Inboxes whose failed intake could not be put back yet.
    var releasePending = Set<QueueName>()

    /// Jobs that logged that they wait for another (so that they say it once).
    var waitingLogged = Set<String>()
}
