import DZAgent
import DZSpool
import DZSystem
import Logging

/// `stop_instances` (queue `appserver_<id>`): stops instances of a project on this appserver.
///
/// Arguments: `project`, `instances` (an array of instance ids; ids this host does not know are reported in
/// `missing`, not an error); optional `grace_s` (default 30: how long gunicorn may finish its requests after
/// SIGTERM before SIGKILL) and `remove_bundles` (default true: delete the directory of a bundle that no remaining
/// instance of the project uses).
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
        let project = try context.project()
        let instances = try context.instances()
        let grace = try context.number("grace_s", default: 30)
        guard (0...3600).contains(grace) else { throw TaskFailure.badArgs("grace_s must be from 0 to 3600") }
        let removeBundles: Bool
        switch context.args["remove_bundles"] {
        case nil, .null?: removeBundles = true
        case .bool(let value)?: removeBundles = value
        case let other?: throw TaskFailure.badArgs("remove_bundles must be a boolean, not \(other.typeName)")
        }

        do {
            return try await stop(project, instances, grace: grace, removeBundles: removeBundles, context.logger)
        } catch let error as DeployError {
            throw error.taskFailure
        }
    }

    private func stop(_ project: ProjectID, _ instances: [String], grace: Double, removeBundles: Bool,
                      _ logger: Logger) async throws -> [String: JSONValue]
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
                // rm never follows a link it meets, so nothing outside the bundle's directory can go.
                let outcome = try? await Subprocess.run(["rm", "-rf", "--one-file-system", "--", directory],
                                                        environment: ["PATH": "/usr/bin:/bin", "LANG": "C"],
                                                        timeout: 600)
                if outcome?.succeeded == true {
                    removed.append(bundle)
                } else {
                    logger.warning("cannot remove bundle directory", metadata: ["directory": "\(directory)"])
                }
            }
        }
        return ["stopped": .array(stopped.map { .string($0) }), "missing": .array(missing.map { .string($0) }),
                "removed_bundles": .array(removed.map { .string($0) })]
    }
}
