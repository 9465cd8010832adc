import DZSpool
import DZSystem
import DZTelemetry
import Logging
import ServiceLifecycle
import UnixSignals

/// A host agent: serves queues of a spool with task handlers.
///
/// Watches each queue's `new/` with inotify and rescans every `rescanInterval` (inotify is blind to other NFS
/// clients); claims names FIFO per queue, queues in turn; runs up to `concurrency` handlers at once, each within
/// its time limit; renews the leases of what it holds; takes back stale claims; writes a heartbeat.
/// On graceful shutdown (SIGTERM) it stops claiming, gives running tasks `grace` seconds, then cancels them and
/// releases their claims unchanged. SIGHUP reopens the audit log.
///
/// Across hosts: what it puts into a queue (a result, a retry, a task given back) rings the hosts that serve that
/// queue (`Wakeups`); with `wakeListen` it also listens for such rings and scans the queue named at once.
public struct Agent: Service {
    public let spool: Spool
    /// Rings the hosts serving a queue this agent put a file into; rebuilt from the heartbeats every
    /// `Wakeups.refreshInterval`.
    public let wakeups: Wakeups
    public let configuration: AgentConfiguration
    public let registry: HandlerRegistry
    public let logger: Logger
    public let version: String
    /// systemd notifications and the metrics file, when asked for.
    public let telemetry: AgentTelemetry?
    /// The handlers' time limits; its clock runs in `run`'s task group, for as long as the agent runs.
    let alarms = Alarms()

    public init(spool: Spool, configuration: AgentConfiguration, registry: HandlerRegistry = .standard,
                logger: Logger, version: String, telemetry: AgentTelemetry? = nil)
    {
        let wakeups = Wakeups(spool: spool)
        var spool = spool
        spool.wakeups = wakeups
        self.spool = spool
        self.wakeups = wakeups
        // Every agent also serves its own host queue, for steps that must run where an earlier one ran.
        var configuration = configuration
        let own = QueueName.host(spool.host)
        if !configuration.queues.contains(own) { configuration.queues.append(own) }
        self.configuration = configuration
        self.registry = registry
        self.logger = logger
        self.version = version
        self.telemetry = telemetry
    }

    public func run() async throws {
        for queue in configuration.queues { try spool.create(queue) }
        try? FileSystem.makeDirectories(spool.hostsPath)
        let turns = hostTurns()
        let scheduler = Scheduler(queues: configuration.queues, takingTurns: turns != nil) { [spool] item in
            spool.fingerprint(item.name, in: item.queue)
        }
        let running = RunningTasks()
        let shutdown = Latch()
        let health = SpoolHealth()
        let threads = BlockingThreads(count: Self.settleThreads(concurrency: configuration.concurrency), name: "dz-spool")
        defer { threads.close() }
        let workers = max(1, configuration.concurrency)
        let watcher = TurnWatcher(spool: spool, queues: configuration.queues, turns: turns,
                                  patience: configuration.turnPatience) { running.handlersRunning < workers }
        let listener = try wakeListener()
        defer { listener?.stop() }
        let wake = listener?.addresses.map(\.description).joined(separator: ",")
        let started = Timestamp.now()
        spool.audit.record("agent-started", [("queues", configuration.queues.map(\.rawValue).joined(separator: ",")),
                                             ("concurrency", String(configuration.concurrency)),
                                             ("lease_s", String(configuration.leaseSeconds)),
                                             ("wake", wake), ("version", version)])
        logger.info("agent started", metadata: [
            "queues": "\(configuration.queues.map(\.rawValue).joined(separator: ","))",
            "host": "\(spool.host)", "concurrency": "\(configuration.concurrency)", "wake": "\(wake ?? "off")",
            "turns": "\(turns?.directory ?? "off")",
        ])
        spool.pruneDeadHeartbeats()
        for other in spool.conflictingHeartbeats() {
            logger.critical("another machine uses this host id: give each machine its own (--host-id, DZ_HOST_ID)",
                            metadata: ["host": "\(spool.host)", "its_pid": "\(other.pid)", "its_boot_id": "\(other.bootID)"])
            spool.audit.record("host-id-shared", [("other_pid", String(other.pid)), ("other_boot_id", other.bootID)])
        }
        await sweep(scheduler, running, purge: true)
        await checkDrained(scheduler, running, shutdown)
        if let telemetry, telemetry.isActive {
            telemetry.start(queues: configuration.queues, concurrency: configuration.concurrency, started: started)
            let status = telemetry.update(spool: spool, queues: configuration.queues, running: running.count,
                                          concurrency: configuration.concurrency)
            telemetry.notifier?.ready(status: status)
        }

        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await alarms.run() }
                group.addTask { await pumpEvents(watcher, scheduler, running) }
                group.addTask { await rescanLoop(scheduler, running, shutdown, health) }
                group.addTask { await renewLoop(running) }
                group.addTask { await heartbeatLoop(running, started: started, wake: listener?.addresses ?? []) }
                group.addTask { await refreshWakeups() }
                if let listener { group.addTask { await scanOnRings(listener, scheduler) } }
                group.addTask { await deferralLoop(scheduler) }
                group.addTask { await reopenLogsOnHangup() }
                if let telemetry, telemetry.isActive {
                    group.addTask { await telemetryLoop(telemetry, running) }
                    group.addTask { await telemetry.watchdogLoop() }
                }
                group.addTask {
                    await shutdown.wait()
                    await scheduler.close()
                    if running.count > 0 {
                        logger.info("stopping: waiting for running tasks", metadata: [
                            "running": "\(running.count)", "grace_s": "\(configuration.grace)",
                        ])
                    }
                    await health.close()
                    try? await Task.sleep(seconds: configuration.grace)
                    running.stopAll(.shutdown)
                }
                await withTaskGroup(of: Void.self) { workers in
                    for _ in 0..<max(1, configuration.concurrency) {
                        workers.addTask { await work(scheduler, running, shutdown, health, threads) }
                    }
                }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            telemetry?.notifier?.stopping(status: "stopping: \(running.count) running, grace \(configuration.grace) s")
            shutdown.set()
        }

        if let telemetry, telemetry.isActive {
            telemetry.update(spool: spool, queues: configuration.queues, running: 0, concurrency: configuration.concurrency)
        }
        watcher.stop()
        spool.writeTallies()
        spool.removeHeartbeat(host: spool.host, pid: spool.pid)
        spool.audit.record("agent-stopped", [("queues", configuration.queues.map(\.rawValue).joined(separator: ","))])
        logger.info("agent stopped")
    }

    /// How many tasks of one worker may be settling (with fsync, waiting for their group commit) while it runs
    /// the next: the more settle at once, the fewer directory fsyncs each costs.
    static let settlesPerWorker = 4

    /// The spool threads an agent of `concurrency` workers settles on: one per task that may be settling.
    static func settleThreads(concurrency: Int) -> Int { min(64, max(1, concurrency) * settlesPerWorker) }

    /// One worker: takes names until the scheduler closes; while spool writes fail, waits before claiming. With
    /// fsync, it goes on to the next name while up to `settlesPerWorker` of its tasks settle; it ends once they
    /// all have.
    private func work(_ scheduler: Scheduler, _ running: RunningTasks, _ shutdown: Latch,
                      _ health: SpoolHealth, _ threads: BlockingThreads) async
    {
        await withTaskGroup(of: Void.self) { settling in
            var pending = 0
            while let item = await scheduler.next() {
                await health.waitUntilWritable()
                if let settle = await process(item, scheduler, running, health, threads) {
                    settling.addTask {
                        await settle()
                        await checkDrained(scheduler, running, shutdown)
                    }
                    pending += 1
                }
                await scheduler.finished(item)
                while pending >= Self.settlesPerWorker, await settling.next() != nil { pending -= 1 }
                await checkDrained(scheduler, running, shutdown)
            }
        }
    }

    /// With `--drain`: stops once nothing runs and no file in any `new/` is due. The directories are listed
    /// before deciding, since a retry's or another writer's inotify event may not have arrived yet.
    private func checkDrained(_ scheduler: Scheduler, _ running: RunningTasks, _ shutdown: Latch) async {
        guard configuration.drain, !shutdown.isSet, running.count == 0, await scheduler.isEmpty else { return }
        let now = Timestamp.now()
        for queue in configuration.queues {
            let dir = spool.path(queue, .new)
            let due = ((try? FileSystem.names(in: dir)) ?? []).filter { name in
                Spool.isTaskFileName(name)
                    && ((try? FileSystem.linkStatus(dir + "/" + name)).map { $0.modified <= now + 0.5 } ?? false)
            }
            if !due.isEmpty {
                await scheduler.add(queue, due.sorted())
                if !(await scheduler.isEmpty) { return }
            }
        }
        guard running.count == 0 else { return }
        let unsettled = await scheduler.unsettled
        if unsettled.isEmpty {
            logger.info("drained: nothing due and nothing running")
        } else {
            // Such a file is neither due nor bad input yet: say why it is left, or it looks forgotten.
            let names = unsettled.prefix(10).map { "\($0.item.queue)/new/\($0.item.name)" }.joined(separator: ", ")
                + (unsettled.count > 10 ? " and \(unsettled.count - 10) more" : "")
            let message = "drained: nothing due and nothing running; left in new/: \(names), which do not parse "
                + "yet and were modified less than --settle (\(DurationText.text(configuration.settle))) ago (a copy "
                + "may still be under way): a later run takes them, or moves them to failed/ if they still do not parse"
            logger.info("\(message)", metadata: ["unsettled": "\(unsettled.count)"])
        }
        shutdown.set()
    }

    /// Feeds inotify's names to the scheduler, a batch per read; taking the host's turn on a queue means listing
    /// it; a queue overflow means a full rescan.
    private func pumpEvents(_ watcher: TurnWatcher, _ scheduler: Scheduler, _ running: RunningTasks) async {
        for await event in watcher.events {
            switch event {
            case .appeared(let queue, let names):
                await scheduler.add(queue, names)
            case .turnTaken(let queue):
                logger.debug("this agent listens to the queue for the host", metadata: ["queue": "\(queue)"])
                await scheduler.listen(queue, true)
                do { await scheduler.add(queue, try FileSystem.names(in: spool.path(queue, .new))) } catch {
                    logger.error("listing failed", metadata: ["queue": "\(queue)", "error": "\(error)"])
                }
            case .turnGiven(let queue):
                logger.debug("this agent gave its turn on the queue to another of the host",
                             metadata: ["queue": "\(queue)"])
                await scheduler.listen(queue, false)
            case .overflow:
                logger.warning("inotify queue overflowed: rescanning")
                spool.audit.record("overflow", [])
                await sweep(scheduler, running, purge: false)
            case .failed(let queue, let message):
                logger.warning("cannot watch the queue (the rescan still finds its files)",
                               metadata: ["queue": "\(queue)", "error": "\(message)"])
            }
        }
    }

    /// Where this host's agents take turns listening, or nil (every queue watched all the time) without a
    /// directory, or when it or the spool's id is unusable (said once, at start).
    private func hostTurns() -> HostTurns? {
        guard let directory = configuration.turnDirectory else { return nil }
        do {
            return try HostTurns(directory: directory, spoolID: try spool.identity(), host: spool.host)
        } catch {
            logger.warning("not taking turns with this host's other agents: every drop wakes every agent",
                           metadata: ["dir": "\(directory)", "error": "\(error)"])
            return nil
        }
    }

    /// Reaps stale claims and lists every `new/`: at start, every `rescanInterval`, on overflow. Also writes what
    /// a full disk kept back (reasons, audit lines) and sets aside names that are not UTF-8.
    private func sweep(_ scheduler: Scheduler, _ running: RunningTasks, purge: Bool) async {
        spool.writePendingReasons()
        for queue in configuration.queues {
            do {
                let actions = try spool.reap(queue, leaseSeconds: configuration.leaseSeconds, skew: configuration.skew,
                                             poisonLimit: configuration.poisonLimit, holding: running.holds)
                for action in actions { logger.notice("took back a stale claim", metadata: ["action": "\(action)"]) }
            } catch {
                logger.error("reaping failed", metadata: ["queue": "\(queue)", "error": "\(error)"])
            }
            if purge {
                spool.purgeTemporary(queue, olderThan: configuration.temporaryLifetime)
                if queue == configuration.queues[0] { spool.pruneDeadHeartbeats() }
            }
            for name in spool.rejectUnreadableNames(in: queue) {
                logger.warning("a file name that is not UTF-8 moved to failed/", metadata: ["queue": "\(queue)",
                                                                                            "file": "\(name)"])
            }
            do {
                // Unsorted: the scheduler keeps each queue's names in a heap, in name order. Of a queue another
                // agent of the host listens to, only what that one left since the last rescan.
                await scheduler.addRescanned(queue, try FileSystem.names(in: spool.path(queue, .new)))
            } catch {
                logger.error("rescan failed", metadata: ["queue": "\(queue)", "error": "\(error)"])
            }
        }
    }

    private func rescanLoop(_ scheduler: Scheduler, _ running: RunningTasks, _ shutdown: Latch,
                            _ health: SpoolHealth) async
    {
        var sweeps = 0
        while !Task.isCancelled {
            do { try await Task.sleep(seconds: configuration.rescanInterval) } catch { return }
            if shutdown.isSet { continue }
            if let problem = await health.problem {
                logger.warning("spool writes fail: not claiming until one succeeds", metadata: ["error": "\(problem)"])
                guard await SpoolHealth.probe(spool, configuration.queues[0], health) else { continue }
                logger.notice("spool writable again: claiming")
            }
            sweeps += 1
            // tmp/ needs looking at far less often than new/.
            let purgeEvery = max(1, Int(saturating: 60 / configuration.rescanInterval))
            await sweep(scheduler, running, purge: sweeps % purgeEvery == 0)
            await checkDrained(scheduler, running, shutdown)
        }
    }

    private func renewLoop(_ running: RunningTasks) async {
        while !Task.isCancelled {
            do { try await Task.sleep(seconds: configuration.renewInterval) } catch { return }
            for claim in running.renewable {
                if !spool.renew(claim) {
                    // A handler that ended meanwhile moved its own file: that is no lost lease.
                    guard running.isRunning(claim) else { continue }
                    logger.warning("lease lost: another agent took the task", metadata: [
                        "task": "\(claim.task.id)", "queue": "\(claim.queue)",
                    ])
                    running.stop(claim, .leaseLost)
                } else if spool.isCancelled(claim.task) {
                    logger.info("job cancelled: stopping its task", metadata: ["task": "\(claim.task.id)"])
                    running.stop(claim, .cancelled)
                }
            }
        }
    }

    private func heartbeatLoop(_ running: RunningTasks, started: Timestamp, wake: [SocketAddress]) async {
        while !Task.isCancelled {
            var beat = Heartbeat(host: spool.host, pid: spool.pid, version: version, queues: configuration.queues,
                                 running: running.taskIDs, concurrency: configuration.concurrency, started: started)
            beat.wake = wake
            beat.facts = configuration.heartbeatFacts
            beat.measure(spoolRoot: spool.root)
            do { try spool.write(beat) } catch {
                logger.warning("heartbeat not written", metadata: ["error": "\(error)"])
            }
            // What was moved to done/ since the last tally write, so that `dz status` counts a quiet agent's last
            // second of work too.
            spool.writeTallies()
            do { try await Task.sleep(seconds: configuration.heartbeatInterval) } catch { return }
        }
    }

    /// Keeps systemd's status line and the metrics file current.
    private func telemetryLoop(_ telemetry: AgentTelemetry, _ running: RunningTasks) async {
        while !Task.isCancelled {
            do { try await Task.sleep(seconds: telemetry.interval) } catch { return }
            telemetry.update(spool: spool, queues: configuration.queues, running: running.count,
                             concurrency: configuration.concurrency)
        }
    }

    /// The listener for wake-up rings of this agent's queues, when `wakeListen` names addresses.
    private func wakeListener() throws -> WakeListener? {
        guard !configuration.wakeListen.isEmpty else { return nil }
        let spoolID = try spool.identity()
        guard WakeRing.isValidSpoolID(spoolID) else {
            throw SpoolError.badTask(BadInput("spool-id", "the spool id \(spoolID.prefix(80)) cannot go into a wake-up "
                                                + "ring: 1 to 64 of [A-Za-z0-9_-]"))
        }
        var ringLogger = logger
        ringLogger[metadataKey: "service"] = "wake"
        return try WakeListener(addresses: configuration.wakeListen, spoolID: spoolID, queues: configuration.queues,
                                limits: configuration.wakeLimits, logger: ringLogger)
    }

    /// Lists a queue's `new/` as soon as a ring names it: what another host dropped is seen at once, not at the
    /// next rescan.
    private func scanOnRings(_ listener: WakeListener, _ scheduler: Scheduler) async {
        for await queue in listener.scans {
            listener.started(queue)
            let start = Timestamp.now()
            if let names = try? FileSystem.names(in: spool.path(queue, .new)) {
                await scheduler.add(queue, names)
            }
            listener.finished(queue, seconds: Timestamp.now() - start)
        }
    }

    /// Keeps the table of whom to ring up to date (agents and coordinators come and go).
    private func refreshWakeups() async {
        while !Task.isCancelled {
            if wakeups.refresh() {
                let summary = wakeups.summary
                logger.info("wake-ups: whom this agent rings changed", metadata: ["rings": "\(summary.isEmpty ? "nobody" : summary)"])
            }
            do { try await Task.sleep(seconds: Wakeups.refreshInterval) } catch { return }
        }
    }

    private func deferralLoop(_ scheduler: Scheduler) async {
        while !Task.isCancelled {
            let earliest = await scheduler.promoteDue()
            let wait = earliest.map { min(max($0 - .now(), 0.005), 0.25) } ?? 0.25
            do { try await Task.sleep(seconds: wait) } catch { return }
        }
    }

    private func reopenLogsOnHangup() async {
        for await _ in await UnixSignalsSequence(trapping: .sighup) {
            spool.audit.reopen()
            logger.info("SIGHUP: audit log reopened")
        }
    }
}

extension Agent: CustomStringConvertible {
    public var description: String {
        "Agent(host: \(spool.host), queues: \(configuration.queues.map(\.rawValue).joined(separator: ",")))"
    }
}
