import DZSpool
import DZStore
import DZSystem
import Logging
import ServiceLifecycle

/// The coordinator: serves the `results` and `jobs` queues, keeps the zoomdb, and drives jobs.
///
/// One per zoomdb (an flock on `<db>.lock`). Everything runs in one task, so the database has one user.
/// Restart-safe at any instant: a result or request is retired from the spool only after its effect is committed,
/// and a step is recorded (`dispatching`) before its task file is dropped, under an id derived from job and step.
///
/// Across hosts: each task it drops rings the hosts serving that queue (`Wakeups`); with `wakeListen` it listens
/// for the rings of agents delivering results (and of clients submitting jobs), its address in its lease file.
public struct Coordinator: Service {
    public let spool: Spool
    public let configuration: CoordinatorConfiguration
    public let catalog: JobCatalog
    public let logger: Logger
    /// systemd notifications and the metrics file, when asked for.
    public var telemetry: CoordinatorTelemetry?

    public init(spool: Spool, configuration: CoordinatorConfiguration, catalog: JobCatalog = .standard,
                logger: Logger)
    {
        self.spool = spool
        self.configuration = configuration
        self.catalog = catalog
        self.logger = logger
    }

    public func run() async throws {
        let wakeups = Wakeups(spool: self.spool)
        let spool = {
            var spool = self.spool
            spool.wakeups = wakeups
            return spool
        }()
        let path = configuration.databasePath
        do { try ZoomDB.checkLocal(path, allowNetworkFileSystem: configuration.allowNetworkDatabase) } catch {
            throw CoordinatorError.unsuitableDatabase("\(error)")
        }
        if let slash = path.lastIndex(of: "/") {
            try? FileSystem.makeDirectories(String(path[..<slash]), mode: 0o700)
        }
        // One coordinator per spool, whatever host it runs on (the lease), and per zoomdb (the lock).
        let listener = try wakeListener(spool)
        defer { listener?.stop() }
        let lease: CoordinatorLease
        do { lease = try CoordinatorLease.acquire(spool: spool, database: path, wake: listener?.addresses ?? []) } catch {
            if case .held = error { throw CoordinatorError.anotherCoordinator(error.description) }
            throw JobError.coordinator(error.description)
        }
        var leaseKept = true
        defer { if leaseKept { lease.release() } }
        if configuration.adoptsLegacyDatabase { try adoptLegacyDatabase() }
        let lock: FileLock
        do { lock = try FileLock(path: path + ".lock") } catch {
            if error == .wouldBlock || error == .resourceTemporarilyUnavailable {
                throw CoordinatorError.anotherCoordinator("another coordinator holds \(configuration.databasePath).lock")
            }
            throw JobError.coordinator("cannot lock \(configuration.databasePath).lock: \(error)")
        }
        defer { withExtendedLifetime(lock) {} }
        let engine = try CoordinatorEngine(spool: spool, configuration: configuration, catalog: catalog,
                                           logger: logger)
        engine.telemetry = telemetry
        let publisher = StatePublisher(spool: spool, databasePath: path, changes: engine.changes, logger: logger)
        try engine.checkSpoolIdentity()
        for queue in [QueueName.results, .jobs] { try spool.create(queue) }
        // Every source of work puts what it saw here (the first sweep too); the loop takes all that waits at each
        // turn.
        let inbox = CoordinatorInbox()
        engine.inbox = inbox
        try engine.recover()
        let watcher = try QueueWatcher(spool: spool, queues: [.results, .jobs])
        defer { watcher.stop() }
        let wake = listener?.addresses.map(\.description).joined(separator: ",")
        spool.audit.record("coordinator-started", [("db", configuration.databasePath), ("wake", wake)])
        logger.info("coordinator started", metadata: ["db": "\(configuration.databasePath)", "wake": "\(wake ?? "off")"])

        let lost = Latch()
        engine.mayWrite = { !lost.isSet }
        let started = Timestamp.now()
        if let telemetry, telemetry.isActive {
            telemetry.metrics.set("dz_coordinator_start_time_seconds", to: started.seconds)
            telemetry.notifier?.ready(status: telemetry.update(spool: spool))
        }
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await event in watcher.events {
                        switch event {
                        case .appeared(let queue, let name): inbox.appeared(name, in: queue)
                        case .overflow: inbox.sweep()
                        }
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        inbox.sweep()
                        do { try await Task.sleep(seconds: configuration.rescanInterval) } catch {
                            return
                        }
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        if wakeups.refresh() {
                            let summary = wakeups.summary
                            logger.info("wake-ups: whom this coordinator rings changed",
                                        metadata: ["rings": "\(summary.isEmpty ? "nobody" : summary)"])
                        }
                        do { try await Task.sleep(seconds: Wakeups.refreshInterval) } catch { return }
                    }
                }
                if let listener {
                    group.addTask {
                        for await queue in listener.scans { inbox.scan(queue) }
                    }
                }
                group.addTask {
                    // The lease is renewed like a heartbeat; once it is another's, this coordinator must not
                    // write one more thing.
                    while !Task.isCancelled {
                        do { try await Task.sleep(seconds: CoordinatorLease.renewInterval) } catch { return }
                        if !lease.renew() {
                            lost.set()
                            inbox.finish()
                            return
                        }
                    }
                }
                group.addTask {
                    var pacing = RequestPacing()
                    for await _ in inbox.signals {
                        while !lost.isSet {
                            var batch = inbox.take()
                            guard !batch.isEmpty else { break }
                            let start = Timestamp.now()
                            let scans = batch.scans.sorted()
                            for queue in scans {
                                listener?.started(queue)
                                let names = ((try? FileSystem.names(in: spool.path(queue, .new))) ?? []).sorted()
                                if queue == .results {
                                    batch.results += names
                                } else {
                                    batch.requests = inbox.found(requests: names)
                                }
                            }
                            let heldBack = Self.turn(engine, inbox, batch, &pacing)
                            for queue in scans { listener?.finished(queue, seconds: Timestamp.now() - start) }
                            if let heldBack {
                                // Only requests the pacing holds back may wait: the loop sleeps until a name
                                // comes or the pacing may let one in, rather than asking it again and again.
                                inbox.wake(at: heldBack)
                                break
                            }
                        }
                        if lost.isSet { return }
                    }
                }
                if let telemetry, telemetry.isActive {
                    group.addTask {
                        while !Task.isCancelled {
                            do { try await Task.sleep(seconds: telemetry.interval) } catch { return }
                            telemetry.update(spool: spool)
                        }
                    }
                    group.addTask { await telemetry.watchdogLoop() }
                }
                group.addTask {
                    // Beside the loop: what commands on every host read, written from the committed changes.
                    await publisher.run { !lost.isSet }
                }
                group.addTask {
                    // Beside the loop too: the zoomdb's checkpoints, on a connection of their own, so that no
                    // commit of the loop waits for their fsyncs.
                    await Self.checkpoints(path, allowNetworkFileSystem: configuration.allowNetworkDatabase,
                                           logger: logger)
                }
                await withTaskGroup(of: Void.self) { waiting in
                    waiting.addTask { try? await gracefulShutdown() }
                    waiting.addTask { await lost.wait() }
                    await waiting.next()
                    waiting.cancelAll()
                }
                inbox.finish()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            telemetry?.notifier?.stopping(status: "stopping")
            inbox.finish()
        }
        // The loop has stopped: what its last intake changed is published before the lease goes.
        if !lost.isSet { _ = publisher.round(carrying: StateChanges.Marks(), final: true) }
        if lost.isSet {
            leaseKept = false
            let holder = CoordinatorLease.read(lease.path).map { "\($0)" } ?? "nobody"
            spool.audit.record("coordinator-lease-lost", [("holder", holder)])
            logger.critical("the coordinator lease is no longer ours: stopping", metadata: ["holder": "\(holder)"])
            throw CoordinatorError.leaseLost("this coordinator's lease on the spool was taken over (it held: \(holder)): "
                                             + "another coordinator runs; stopped")
        }
        if let telemetry, telemetry.isActive { telemetry.update(spool: spool) }
        spool.audit.record("coordinator-stopped", [])
        logger.info("coordinator stopped")
    }
}

extension Coordinator {
    /// One turn of the loop over what waited: every result first (the next steps of running jobs), in batches;
    /// then requests, as `RequestPacing` allows: while the loop keeps up, one at least, more only while no result
    /// waits again, for up to `RequestPacing.budget`; the requests not reached wait in the inbox, for a turn after
    /// the results that arrive meanwhile; then the sweep, when one is due. Returns, when the pacing let no request
    /// in, when time alone may change that (`RequestPacing.nextChance`).
    @discardableResult
    static func turn(_ engine: CoordinatorEngine, _ inbox: CoordinatorInbox, _ batch: CoordinatorInbox.Batch,
                     _ pacing: inout RequestPacing) -> Timestamp?
    {
        var heldBack: Timestamp?
        if !batch.results.isEmpty {
            engine.takeIn(batch.results, in: .results)
            let now = Timestamp.now()
            pacing.resultsTakenIn(delay: now - (batch.firstResultSeen ?? now), at: now)
        }
        if !batch.requests.isEmpty {
            let rest: [String]
            switch pacing.allowance(at: .now(), inFlight: engine.stepsInFlight()) {
            case .none:
                rest = batch.requests
                heldBack = pacing.nextChance(after: .now())
            case .one: rest = engine.takeIn(requests: batch.requests, upTo: 1, for: 0)
            case .upTo(let most):
                rest = engine.takeIn(requests: batch.requests, upTo: most, for: RequestPacing.budget,
                                     while: { !inbox.resultsWait })
            }
            if rest.count < batch.requests.count { pacing.requestTakenIn(at: .now()) }
            inbox.tookIn(requests: batch.requests.count - rest.count)
        }
        if batch.sweep { engine.sweep() }
        return heldBack
    }

    /// Seconds between the zoomdb's checkpoints.
    static let checkpointInterval = 1.0

    /// Checkpoints the zoomdb every `checkpointInterval` until cancelled (see `ZoomDB.checkpoint`).
    static func checkpoints(_ path: String, allowNetworkFileSystem: Bool, logger: Logger) async {
        let db: ZoomDB
        do { db = try ZoomDB(path: path, allowNetworkFileSystem: allowNetworkFileSystem) } catch {
            logger.error("cannot open the zoomdb for its checkpoints", metadata: ["error": "\(error)"])
            return
        }
        var lastFailure = Timestamp.distantPast
        while !Task.isCancelled {
            do { try await Task.sleep(seconds: checkpointInterval) } catch { break }
            do { try db.checkpoint() } catch {
                if Timestamp.now() - lastFailure > 60 {
                    lastFailure = .now()
                    logger.error("checkpointing the zoomdb failed: trying again", metadata: ["error": "\(error)"])
                }
            }
        }
        // The coordinator stops: what its last commits left in the log.
        try? db.checkpoint()
    }

    /// The listener for rings of `results` and `jobs`, when `wakeListen` names addresses.
    private func wakeListener(_ spool: Spool) throws -> WakeListener? {
        guard !configuration.wakeListen.isEmpty else { return nil }
        let spoolID = try spool.identity()
        guard WakeRing.isValidSpoolID(spoolID) else {
            throw JobError.coordinator("the spool id \(spoolID.prefix(80)) cannot go into a wake-up ring: 1 to 64 of [A-Za-z0-9_-]")
        }
        var ringLogger = logger
        ringLogger[metadataKey: "service"] = "wake"
        return try WakeListener(addresses: configuration.wakeListen, spoolID: spoolID, queues: [.results, .jobs],
                                limits: configuration.wakeLimits, logger: ringLogger)
    }

    /// Moves the zoomdb an earlier dz kept in the spool to this coordinator's default location, once (see
    /// `ZoomDB.moveLegacy`); with the lease held, no other coordinator of this dz uses it meanwhile.
    func adoptLegacyDatabase() throws {
        let legacy = ZoomDBLocation.legacyPath(spoolRoot: spool.root)
        let moved: ZoomDB.LegacyMove?
        do { moved = try ZoomDB.moveLegacy(from: legacy, to: configuration.databasePath) } catch {
            throw CoordinatorError.unsuitableDatabase("\(error)")
        }
        if let moved {
            spool.audit.record("zoomdb-moved", [("from", legacy), ("to", configuration.databasePath),
                                                ("jobs", String(moved.jobs)), ("old", moved.setAside)])
            logger.notice("moved the zoomdb out of the spool", metadata: [
                "from": "\(legacy)", "to": "\(configuration.databasePath)", "jobs": "\(moved.jobs)",
                "old_copy": "\(moved.setAside)",
            ])
        } else if FileSystem.exists(legacy) {
            logger.warning("a zoomdb in the spool is ignored: this coordinator keeps its own", metadata: [
                "ignored": "\(legacy)", "db": "\(configuration.databasePath)",
            ])
        }
    }
}

extension Coordinator: CustomStringConvertible {
    public var description: String { "Coordinator(db: \(configuration.databasePath))" }
}
