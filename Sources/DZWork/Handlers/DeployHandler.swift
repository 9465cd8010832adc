import DZAgent
import DZBuild
import DZBundle
import DZDeploy
import DZSpool
import DZSystem
import DZTasks
import Logging

/// `deploy` (queue `appserver_<id>`): starts one instance of a bundle on this appserver and checks its health.
///
/// Arguments: `project`, `bundle`, `appserver` (this host's id: the task is refused, kind `wrong-appserver`,
/// unless it came through `appserver_<appserver>`), `wsgi` (`module.path[:callable]`), `hostnames` (at least
/// one); optional `sha256` (of the archive; else the stored manifest's), `database` (the object
/// `create_database` returned), `workers` (1-32, default 2), `environment` (an object of strings),
/// `secret_key`, `health_path` (default `/`), `health_timeout_s` (default 60), `health` (`healthy`, the default,
/// or `live`: any HTTP answer will do, for a deploy whose pages need migrations that run after it).
///
/// Steps: the app's user (`AppUser`), its directory (`AppDirectory`) and media directory (`MediaDirectory`), the
/// bundle (`BundleInstaller`), a port, the runtime environment (`RuntimeEnvironment`) and an instance record
/// (state `starting`), gunicorn in the app's sandbox (`InstanceLauncher`), then `GET health_path` until a response
/// below 500 (any response with `health` `live`). An instance that does not become healthy is stopped and its
/// record removed; the task fails (kind `health-check`) with the tail of its error log. A retried task whose
/// instance is up and healthy returns it (`adopted: true`) instead of starting another.
///
/// Output: `instance`, `appserver`, `address`, `port`, `bundle`, `project`, `user`, `pid`, `workers`, `adopted`,
/// `media_root` (the app's media directory on this host), `limits` (`memory`, `processes`, `cpu_weight` and
/// `enforced_by`: `cgroup-v2`, `cgroup-v1` or `rlimits`).
public struct DeployHandler: TaskHandler {
    public let name = "deploy"
    public let workspace: Workspace
    public let store: any BundleStore
    public let settings: AppServerSettings

    public init(workspace: Workspace, store: any BundleStore, settings: AppServerSettings) {
        self.workspace = workspace
        self.store = store
        self.settings = settings
    }

    public func run(_ context: TaskContext) async throws -> [String: JSONValue] {
        let arguments = try DeployArguments(context.arguments(of: DeployTask.self))
        guard context.queue.rawValue == "appserver_" + arguments.appserver else {
            throw TaskFailure(kind: "wrong-appserver", message: "a deploy to appserver \(arguments.appserver) came "
                + "through queue \(context.queue), not appserver_\(arguments.appserver)", retryable: false)
        }
        do {
            return try await deploy(arguments, context)
        } catch let error as DeployError {
            throw error.taskFailure
        }
    }

    private func deploy(_ arguments: DeployArguments, _ context: TaskContext) async throws -> [String: JSONValue] {
        let records = InstanceDirectory(root: settings.instancesRoot)
        let launcher = InstanceLauncher(logger: context.logger)
        let project = arguments.project
        if let earlier = try await earlierAttempt(arguments, context, records: records, launcher: launcher) {
            return earlier
        }

        var stages = DeployStages()
        let limits = try arguments.limits(over: settings.limits)
        let cgroups = settings.cgroups
        let user = try await AppUser.ensure(for: project, allocated: arguments.appUser, logger: context.logger)
        stages.lap("user")
        let app = AppDirectory(settings: settings, project: project, user: user)
        let handle = try app.prepare()
        var bindings: [Sandbox.Binding] = []
        if let database = arguments.database, let binding = try app.adoptSQLite(database, handle: handle) {
            bindings.append(binding)
        }
        // Outside every release, bound at its own path: what the app stores there outlives this bundle.
        let media = try MediaDirectory(settings: settings, project: project).prepare(user: user)
        bindings.append(Sandbox.Binding(source: media, destination: media))
        stages.lap("directories")
        let installer = BundleInstaller(settings: settings, store: store)
        let installed = try await installer.install(project: project, bundle: arguments.bundle,
                                                    sha256: arguments.sha256, user: user, logger: context.logger,
                                                    stages: &stages)
        let bundleDirectory = installed.directory
        let environment = RuntimeEnvironment(bundleDirectory: bundleDirectory, database: arguments.database,
                                             hostnames: arguments.hostnames, secretKey: arguments.secretKey,
                                             mediaRoot: media, extra: arguments.environment)
        // The interpreter's installation comes from the allowed list, never from the bundle's own files; the shared
        // venv's path from root's record of the install, never from the bundle's `venv` link.
        let isolation = settings.effectiveIsolation
        let sandbox = Sandbox(isolation: isolation, user: user, appDirectory: app.path,
                              readOnly: [AllowedPythons.installation(of: installed.interpreter)]
                                  + (installed.venv.map { [$0] } ?? []),
                              writable: bindings,
                              links: [Sandbox.Binding(source: installed.venv ?? bundleDirectory + "/venv",
                                                      destination: PythonEnvironment.madeAt)],
                              accounts: isolation == .bubblewrap
                                  ? try records.writeAccounts(project: project.rawValue, user: user) : nil)
        try sandbox.checkReachable(interpreter: installed.interpreter)
        stages.lap("sandbox")

        var record = try await reserve(arguments, context, user: user, app: app, bundleDirectory: bundleDirectory,
                                       sandbox: sandbox, environment: environment, limits: limits, records: records)
        stages.lap("port and record")
        context.logger.info("starting instance", metadata: [
            "instance": "\(record.instance)", "port": "\(record.port)", "user": "\(user.name)",
            "isolation": "\(sandbox.isolation.rawValue)", "limits": "\(cgroups.name)",
        ])
        do {
            guard let pid = try await launcher.start(record, environment: environment, records: records,
                                                     cgroups: cgroups, defaults: settings.limits,
                                                     stages: &stages) else {
                throw DeployError.healthCheck("gunicorn exited before it wrote its pid file")
            }
            guard let started = try await records.update(project: project.rawValue, instance: record.instance,
                                                         { $0.pid = pid }) else {
                throw DeployError.launch("instance \(record.instance) was stopped while it started")
            }
            record = started
            try await launcher.awaitHealthy(record, probe: probe(record, arguments), timeout: arguments.healthTimeout,
                                            requirement: arguments.health)
            stages.lap("answering")
            guard let running = try await records.update(project: project.rawValue, instance: record.instance,
                                                         { $0.state = .running }) else {
                throw DeployError.launch("instance \(record.instance) was stopped while it started")
            }
            stages.lap("running record")
            context.logger.info("instance running", metadata: ["instance": "\(record.instance)", "pid": "\(pid)",
                                                               "seconds": "\(stages.text)"])
            var output = running.output(adopted: false, limitsBy: cgroups.name, mediaRoot: media)
            output.timings = stages.milliseconds
            return output.json
        } catch {
            // Whatever went wrong (a cancelled task too), nothing of this attempt stays running or recorded.
            let tail = launcher.errorLogTail(record, secrets: environment.secrets)
            let failed = record
            await Task {
                await launcher.stop(failed, grace: 5)
                try? records.remove(project: failed.project, instance: failed.instance)
                InstanceListeners.release(project: failed.project, instance: failed.instance, records: records)
            }.value
            switch error as? DeployError {
            case .healthCheck(let message)?: throw DeployError.healthCheck(message + "\nerror log:\n" + tail)
            case .launch(let message)?: throw DeployError.launch(message + "\nerror log:\n" + tail)
            default: throw error
            }
        }
    }

    /// A retried task's instance: returned when it is up and becomes healthy; otherwise stopped and forgotten.
    private func earlierAttempt(_ arguments: DeployArguments, _ context: TaskContext, records: InstanceDirectory,
                                launcher: InstanceLauncher) async throws -> [String: JSONValue]?
    {
        let task = context.task.id.rawValue
        guard let earlier = records.records(project: arguments.project.rawValue, logger: context.logger)
            .first(where: { $0.task == task }) else { return nil }
        if earlier.state == .running || earlier.state == .starting, earlier.bundle == arguments.bundle,
           launcher.liveMaster(earlier) != nil,
           (try? await launcher.awaitHealthy(earlier, probe: probe(earlier, arguments),
                                             timeout: arguments.healthTimeout, requirement: arguments.health)) != nil,
           let adopted = try await records.update(project: earlier.project, instance: earlier.instance, {
               $0.state = .running
               if let master = launcher.liveMaster($0) { $0.pid = master.pid }
           })
        {
            context.logger.info("instance of an earlier attempt adopted", metadata: ["instance": "\(earlier.instance)"])
            return adopted.output(adopted: true, limitsBy: settings.cgroups.name,
                                  mediaRoot: settings.mediaDirectory(arguments.project.rawValue)).json
        }
        context.logger.info("instance of an earlier attempt is not healthy: replacing it",
                            metadata: ["instance": "\(earlier.instance)"])
        await Task {
            await launcher.stop(earlier, grace: 5)
            try? records.remove(project: earlier.project, instance: earlier.instance)
            InstanceListeners.release(project: earlier.project, instance: earlier.instance, records: records)
        }.value
        return nil
    }

    /// Chooses the port and saves the new instance's record (state `starting`), under the `ports` lock.
    private func reserve(_ arguments: DeployArguments, _ context: TaskContext, user: AppUser, app: AppDirectory,
                         bundleDirectory: String, sandbox: Sandbox, environment: RuntimeEnvironment,
                         limits: AppLimits, records: InstanceDirectory) async throws -> InstanceRecord
    {
        let held = try await records.lock("ports")
        defer { held.unlock() }
        let taken = Set(records.records(logger: context.logger).filter { $0.address == settings.address }.map(\.port))
        guard let (port, socket) = PortAllocator.firstFree(address: settings.address, in: settings.ports,
                                                           excluding: taken) else {
            throw DeployError.launch("no free port in \(settings.ports.lowerBound)-\(settings.ports.upperBound) on "
                + settings.address)
        }
        // Ports are reused once free: the start time (milliseconds, base 36) keeps every instance id ever made
        // distinct, so that the zoomdb's record of a stopped instance is never taken for a new one's.
        let started = String(UInt64(Timestamp.now().nanoseconds / 1_000_000), radix: 36)
        let instance = arguments.bundle + "." + arguments.appserver + "." + String(port) + "." + started
        guard TaskID.isValid(instance) else {
            throw TaskFailure.badArgs("the instance id \(instance) would be longer than \(TaskID.maxLength) characters")
        }
        let prefix = sandbox.command([])
        let command = InstanceLauncher.gunicornCommand(
            bundleDirectory: bundleDirectory, appDirectory: app.path, instance: instance, workers: arguments.workers,
            wsgi: arguments.wsgi)
        let record = InstanceRecord(
            instance: instance, project: arguments.project.rawValue, bundle: arguments.bundle,
            appserver: arguments.appserver, address: settings.address, port: port, pid: 0, uid: user.uid,
            gid: user.gid, user: user.name, switchesUser: user.switches, workers: arguments.workers,
            wsgi: arguments.wsgi, argv: prefix + command, sandbox: prefix, appDirectory: app.path,
            pidFile: app.path + "/run/" + instance + ".pid", started: Timestamp.now().rfc3339, restarts: 0,
            recentRestarts: [], job: context.task.job, task: context.task.id.rawValue, state: .starting,
            limits: limits)
        try environment.write(to: records, project: record.project, instance: instance)
        try records.save(record)
        InstanceListeners.hold(socket, project: record.project, instance: instance, records: records)
        return record
    }

    private func probe(_ record: InstanceRecord, _ arguments: DeployArguments) -> HealthProbe {
        HealthProbe(address: record.address, port: record.port, host: arguments.hostnames[0].concreteName,
                    path: arguments.healthPath)
    }
}
