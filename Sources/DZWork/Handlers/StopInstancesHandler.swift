import DZAgent
import DZDeploy
import DZSpool
import DZSystem
import DZTasks
import Logging

/// `stop_instances` (queue `appserver_<id>`): stops instances of a project on this appserver.
///
/// Arguments: `project`, `instances` (an array of instance ids; ids this host does not know are reported in
/// `missing`, not an error); optional `grace_s` (default 30: how long gunicorn may finish its requests after
/// SIGTERM before SIGKILL) and `remove_bundles` (default true: delete the directory of a bundle that no remaining
/// instance of the project uses: renamed aside at once, deleted after the task has reported; so is a shared venv
/// of the project that no installed bundle links to any more).
///
/// Each record is first marked `stopping` (so the supervisor leaves it alone), then its master is stopped, then
/// the record is deleted. Output: `stopped`, `missing`, `removed_bundles`.
public struct StopInstancesHandler: TaskHandler {
    public let name = "stop_instances"
    public let settings: AppServerSettings

    public init(settings: AppServerSettings) {
        self.settings = settings
    }

    public func run(_ context: TaskContext) async throws -> [String: JSONValue] {
        let args = try context.arguments(of: StopInstancesTask.self)
        do {
            return try await stop(args.project, args.instances, grace: args.grace ?? 30,
                                  removeBundles: args.removeBundles ?? true, context.logger).json
        } catch let error as DeployError {
            throw error.taskFailure
        }
    }

    private func stop(_ project: ProjectID, _ instances: [String], grace: Double, removeBundles: Bool,
                      _ logger: Logger) async throws -> StopInstancesTask.Output
    {
        let records = InstanceDirectory(root: settings.instancesRoot)
        let launcher = InstanceLauncher(logger: logger)
        var stopped: [String] = []
        var missing: [String] = []
        var bundles: Set<String> = []
        for instance in instances {
            guard let record = try await records.update(project: project.rawValue, instance: instance,
                                                        { $0.state = .stopping }) else {
                missing.append(instance)
                continue
            }
            await Task { await launcher.stop(record, grace: grace) }.value
            try records.remove(project: project.rawValue, instance: instance)
            InstanceListeners.release(project: project.rawValue, instance: instance, records: records)
            logger.info("instance stopped", metadata: ["instance": "\(instance)"])
            stopped.append(instance)
            bundles.insert(record.bundle)
        }
        // An app with no instance left here gives its control groups back.
        if records.records(project: project.rawValue, logger: logger).isEmpty {
            settings.cgroups.remove(project: project.rawValue)
        }
        var removed: [String] = []
        var retired: [String] = []
        if removeBundles {
            let held = try await records.lock(project.rawValue)
            defer { held.unlock() }
            // Installs take this lock (`BundleInstaller`): a deploy never reuses a bundle while its directory is
            // being removed; one that comes after finds neither record nor directory and installs it anew.
            let installs = try await records.lock("install-" + project.rawValue, timeout: 1800)
            defer { installs.unlock() }
            let inUse = Set(records.records(project: project.rawValue, logger: logger).map(\.bundle))
            for bundle in bundles.sorted() where !inUse.contains(bundle) {
                guard (try? BundleNames.bundle(bundle, of: project)) != nil else { continue }
                let directory = settings.appDirectory(project.rawValue) + "/" + bundle
                guard FileSystem.exists(directory) else {
                    records.removeInstalledBundle(project: project.rawValue, bundle: bundle)
                    continue
                }
                // The record goes first: a directory without one is never reused, only discarded.
                records.removeInstalledBundle(project: project.rawValue, bundle: bundle)
                // Renamed aside now (one rename in the app's directory), deleted after the task has reported: a
                // redeploy's retire_old does not wait seconds for a whole virtualenv to be unlinked.
                let aside = settings.appDirectory(project.rawValue) + "/" + Self.retiredPrefix + bundle + "-"
                    + String(UInt64(bitPattern: Timestamp.now().nanoseconds))
                do {
                    try FileSystem.rename(directory, aside)
                    removed.append(bundle)
                    retired.append(aside)
                } catch {
                    logger.warning("cannot remove bundle directory", metadata: ["directory": "\(directory)",
                                                                                "error": "\(error)"])
                }
            }
            let venvsInUse = Set(records.installedBundles(project: project.rawValue).compactMap(\.venv))
            retired += SharedVirtualenvs(settings: settings, project: project.rawValue)
                .removeUnused(inUse: venvsInUse, logger: logger)
        }
        retired += Self.leftAside(in: settings.appDirectory(project.rawValue), besides: retired)
        if !retired.isEmpty { Self.delete(retired, logger: logger) }
        return StopInstancesTask.Output(stopped: stopped, missing: missing, removedBundles: removed)
    }

    /// The name prefix of a bundle directory renamed aside to be deleted.
    static let retiredPrefix = ".retired-"

    /// Directories an earlier stop renamed aside but did not get to delete (its agent stopped first).
    static func leftAside(in appDirectory: String, besides known: [String]) -> [String] {
        let names = (try? FileSystem.names(in: appDirectory)) ?? []
        return names.filter { $0.hasPrefix(retiredPrefix + "bundle_") }.map { appDirectory + "/" + $0 }
            .filter { !known.contains($0) }
    }

    /// Deletes `directories` in the background, after the task's result: `rm` never follows a link it meets, so
    /// nothing outside them can go (the app's user may have written in them). What an agent stopping first leaves
    /// is deleted by the next stop of the project on this host.
    static func delete(_ directories: [String], logger: Logger) {
        Task.detached {
            for directory in directories {
                let outcome = try? await Subprocess.run(["rm", "-rf", "--one-file-system", "--", directory],
                                                        environment: ["PATH": "/usr/bin:/bin", "LANG": "C"],
                                                        timeout: 600)
                if outcome?.succeeded != true {
                    logger.warning("cannot remove bundle directory", metadata: ["directory": "\(directory)"])
                }
            }
        }
    }
}
