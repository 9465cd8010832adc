import DZSpool
import DZSystem
import Logging
import ServiceLifecycle

/// Keeps this appserver's instances running. This host has no systemd (nor any other init that could own app
/// processes), so the agent supervises them itself.
///
/// Instances are daemons that outlive the agent: on start the supervisor adopts every live instance it finds in
/// the records (and logs it); it never starts a second master for an instance whose master runs. Every
/// `interval` seconds it checks each `running` record: a master that is gone, or whose pid no longer belongs to
/// the app's user and this instance's pid file, is relaunched with the record's `argv` and its restart counted. A
/// master relaunched just before the agent stopped is found through its pid file and adopted, not duplicated. A
/// crash loop backs off: after `maxRestarts` relaunches within `window` seconds the record's state becomes
/// `failed` (logged as an error) and it is left alone until a deploy replaces it or `stop_instances` removes it.
///
/// Records in state `starting` (a deploy owns them) and `stopping` are left alone; a `starting` record older than
/// `staleStart` seconds, left by an agent that died during a deploy, is adopted when its master lives and marked
/// `failed` otherwise. Graceful shutdown stops the checks and leaves the instances running.
public struct InstanceSupervisor: Service {
    public let settings: AppServerSettings
    public let interval: Double
    public let maxRestarts: Int
    public let window: Double
    public let staleStart: Double
    public let logger: Logger

    public init(settings: AppServerSettings, interval: Double = 5, maxRestarts: Int = 5, window: Double = 600,
                staleStart: Double = 900, logger: Logger)
    {
        self.settings = settings
        self.interval = interval
        self.maxRestarts = maxRestarts
        self.window = window
        self.staleStart = staleStart
        self.logger = logger
        cgroups = settings.cgroups
    }

    /// What one round did, by instance id.
    public struct Round: Sendable, Equatable {
        public var healthy: [String] = []
        public var adopted: [String] = []
        public var relaunched: [String] = []
        public var failed: [String] = []
    }

    public func run() async throws {
        let adopted = await adoptLiveInstances()
        logger.info("instance supervisor started", metadata: [
            "adopted": "\(adopted.count)", "interval_s": "\(interval)", "limits": "\(cgroups.name)",
            "limits_by": "\(cgroups.description)",
        ])
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                _ = await check()
                try? await Task.sleep(nanoseconds: UInt64(interval * 1e9))
            }
        }
    }

    /// Takes back the listening socket of every recorded instance (`InstanceListeners`: from its live processes,
    /// else bound anew), logs every `running` instance whose master lives (correcting a recorded pid from the pid
    /// file) and returns their ids; dead ones are left to `check`.
    public func adoptLiveInstances() async -> [String] {
        let launcher = InstanceLauncher(logger: logger)
        var adopted: [String] = []
        for record in directory.records(logger: logger) { holdSocket(record) }
        for record in directory.records(logger: logger) where record.state == .running {
            guard let master = launcher.liveMaster(record) else { continue }
            if master.pid != record.pid {
                _ = try? await directory.update(project: record.project, instance: record.instance) { $0.pid = master.pid }
            }
            logger.info("instance adopted", metadata: ["instance": "\(record.instance)", "pid": "\(master.pid)"])
            adopted.append(record.instance)
        }
        return adopted
    }

    /// One round over every record. A project whose lock a task holds is skipped until the next round.
    public func check() async -> Round {
        var round = Round()
        let records = directory.records(logger: logger)
        for project in Set(records.map(\.project)).sorted() {
            guard let held = directory.tryLock(project) else { continue }
            defer { held.unlock() }
            // Read again under the lock: a task may have changed them since.
            for record in directory.records(project: project, logger: logger) {
                await check(record, into: &round)
            }
        }
        return round
    }

    private var directory: InstanceDirectory { InstanceDirectory(root: settings.instancesRoot) }
    private let cgroups: AppCgroups

    /// Makes sure this process holds the port of a recorded instance, so that nobody else can bind it.
    private func holdSocket(_ record: InstanceRecord) {
        guard InstanceListeners.takesDescriptor(record.argv), record.state != .stopping,
              !InstanceListeners.holds(record, records: directory) else { return }
        do {
            _ = try InstanceListeners.socket(for: record, records: directory)
            logger.info("instance port held", metadata: ["instance": "\(record.instance)", "port": "\(record.port)"])
        } catch {
            logger.error("instance port cannot be held", metadata: ["instance": "\(record.instance)",
                                                                    "error": "\(error)"])
        }
    }

    private func check(_ original: InstanceRecord, into round: inout Round) async {
        let launcher = InstanceLauncher(logger: logger)
        var record = original
        let metadata: Logger.Metadata = ["instance": "\(record.instance)", "project": "\(record.project)"]
        holdSocket(record)
        switch record.state {
        case .stopping, .failed:
            return
        case .starting:
            let started = Timestamp(rfc3339: record.started) ?? .now()
            guard Timestamp.now() - started > staleStart else { return }
            if let master = launcher.liveMaster(record) {
                record.pid = master.pid
                record.state = .running
                logger.warning("instance left starting by an earlier agent adopted", metadata: metadata)
                round.adopted.append(record.instance)
            } else {
                record.state = .failed
                logger.error("instance left starting by an earlier agent is not running: marked failed",
                             metadata: metadata)
                round.failed.append(record.instance)
            }
            save(record)
            return
        case .running:
            break
        }
        if let master = launcher.liveMaster(record) {
            if master.pid != record.pid {
                record.pid = master.pid
                save(record)
                round.adopted.append(record.instance)
            } else {
                round.healthy.append(record.instance)
            }
            return
        }
        let now = Timestamp.now().seconds
        record.recentRestarts = record.recentRestarts.filter { now - $0 < window }
        guard record.recentRestarts.count < maxRestarts else {
            await AppProcess.killLeftovers(pidFile: record.pidFile, uid: record.uid)
            record.state = .failed
            save(record)
            logger.error("instance keeps crashing: no more relaunches", metadata: metadata.merging([
                "restarts_in_window": "\(record.recentRestarts.count)", "window_s": "\(Int(window))",
            ]) { $1 })
            round.failed.append(record.instance)
            return
        }
        logger.warning("instance master is gone: relaunching", metadata: metadata.merging(["pid": "\(record.pid)"]) { $1 })
        record.recentRestarts.append(now)
        record.restarts += 1
        record.pid = 0
        do {
            let environment = try RuntimeEnvironment.read(for: record, records: directory)
            record.pid = try await launcher.start(record, environment: environment, records: directory,
                                                  cgroups: cgroups, defaults: settings.limits) ?? 0
            if record.pid > 0 {
                logger.info("instance relaunched", metadata: metadata.merging(["pid": "\(record.pid)"]) { $1 })
            }
        } catch {
            logger.error("instance relaunch failed", metadata: metadata.merging(["error": "\(error)"]) { $1 })
        }
        save(record)
        round.relaunched.append(record.instance)
    }

    private func save(_ record: InstanceRecord) {
        do { try directory.save(record) } catch {
            logger.error("cannot save instance record", metadata: ["instance": "\(record.instance)",
                                                                   "error": "\(error)"])
        }
    }
}
