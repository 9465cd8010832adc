import DZAgent
import DZDeploy
import DZSpool
import DZSystem
import DZTasks
import Logging

/// `scale_workers` (queue `appserver_<id>`): changes the number of gunicorn workers of running instances in
/// place, without a restart (SIGTTIN and SIGTTOU, as the original's `gunicorn_signal` did).
///
/// Arguments: `project`, `instances` (an array of ids of that project's instances on this host), `workers`
/// (1-32); optional `timeout_s` (default 30, 1-600: how long each instance may take to reach the count).
///
/// First every instance is checked: a record on this host in state `running` whose master is alive and really
/// that instance's (`InstanceLauncher.liveMaster`). If any is unknown or not running, the task fails before any
/// signal is sent (kind `not-found` when any is unknown, else `not-running`), naming every such instance. Then,
/// one instance at a time under the project's lock (so the supervisor and `stop_instances` wait), the workers
/// are brought to `workers` (`InstanceLauncher.scaleWorkers`) and the record's `workers` and launch command are
/// updated, so that a relaunch keeps the new count. A count not reached in time fails the task (kind `workers`);
/// instances handled before it keep their new count.
///
/// Output: `project`, `workers`, and `instances`: for each, `instance`, `pid`, `before` and `after` (the
/// workers `/proc` showed).
public struct ScaleWorkersHandler: TaskHandler {
    public let name = "scale_workers"
    public let settings: AppServerSettings
    /// Seconds the worker count must hold before it counts as reached.
    let settle: Double

    public init(settings: AppServerSettings) {
        self.init(settings: settings, settle: 1)
    }

    init(settings: AppServerSettings, settle: Double) {
        self.settings = settings
        self.settle = settle
    }

    public func run(_ context: TaskContext) async throws -> [String: JSONValue] {
        let args = try context.arguments(of: ScaleWorkersTask.self)
        do {
            return try await scale(args.project, args.instances, to: args.workers, timeout: args.timeout ?? 30,
                                   context.logger).json
        } catch {
            throw error.taskFailure
        }
    }

    private func scale(_ project: ProjectID, _ instances: [String], to workers: Int, timeout: Double,
                       _ logger: Logger) async throws(DeployError) -> ScaleWorkersTask.Output
    {
        let records = InstanceDirectory(root: settings.instancesRoot)
        let launcher = InstanceLauncher(logger: logger)
        try checkRunning(project, instances, records: records, launcher: launcher)
        var results: [ScaleWorkersTask.Change] = []
        for instance in instances {
            let held: FileLock
            do { held = try await records.lock(project.rawValue) } catch {
                throw (error as? DeployError)
                    ?? .filesystem("lock", path: records.root + "/.locks/" + project.rawValue, .interrupted)
            }
            defer { held.unlock() }
            // Read again under the lock: `stop_instances` may have stopped it since the check.
            guard let record = try records.record(project: project.rawValue, instance: instance) else {
                throw .unknownInstance(instance)
            }
            guard record.state == .running, let master = launcher.liveMaster(record) else {
                throw .notRunning("instance \(instance) stopped before its workers could be changed")
            }
            let change = try await launcher.scaleWorkers(record, master: master, to: workers, timeout: timeout,
                                                         settle: settle)
            var updated = record.settingWorkers(workers)
            updated.pid = master.pid
            try records.save(updated)
            logger.info("instance workers changed", metadata: [
                "instance": "\(instance)", "before": "\(change.before)", "after": "\(change.after)",
            ])
            results.append(ScaleWorkersTask.Change(instance: instance, pid: Int(master.pid), before: change.before,
                                                   after: change.after))
        }
        return ScaleWorkersTask.Output(project: project.rawValue, workers: workers, instances: results)
    }

    /// Fails, naming every one, when any instance is unknown on this host or not running.
    private func checkRunning(_ project: ProjectID, _ instances: [String], records: InstanceDirectory,
                              launcher: InstanceLauncher) throws(DeployError)
    {
        var missing: [String] = []
        var stopped: [String] = []
        for instance in instances {
            guard let record = try records.record(project: project.rawValue, instance: instance) else {
                missing.append(instance)
                continue
            }
            if record.state != .running {
                stopped.append("\(instance) (\(record.state.rawValue))")
            } else if launcher.liveMaster(record) == nil {
                stopped.append("\(instance) (its gunicorn master is gone)")
            }
        }
        var problems: [String] = []
        if !missing.isEmpty {
            problems.append("no instance \(missing.joined(separator: ", ")) of project \(project) on this host")
        }
        if !stopped.isEmpty { problems.append("not running: \(stopped.joined(separator: ", "))") }
        guard problems.isEmpty else {
            let message = problems.joined(separator: "; ") + "; no workers were changed"
            throw missing.isEmpty ? .notRunning(message) : .notFound(message)
        }
    }
}
