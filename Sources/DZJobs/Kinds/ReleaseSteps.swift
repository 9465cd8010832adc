import DZSpool
import DZStore
import DZTasks

/// The steps every deploying job shares once it knows what to put live (a `ReleaseSpec`): placement ->
/// deploy (one per instance, on the chosen appservers: installed, started, answering HTTP) -> post_deploy_hooks
/// (migrate and the release command, on the first new instance, before any traffic reaches it) -> health_check
/// (every new instance answers its first host name below 500) -> proxy_update (the switch) -> retire_old (stop
/// the project's previous instances, only after the switch; a failure is a warning). Beside them, from the
/// moment the bundle is stored, stage_static puts the release's static files on the proxy, so that the switch
/// waits for no fetch; proxy_update runs after both. When a step fails, `stop_new_instances` stops what the job
/// started (the old version keeps serving) and `unstage_static` removes what was staged.
enum ReleaseSteps {
    typealias Spec = @Sendable (JobContext) throws(JobError) -> ReleaseSpec

    /// The steps, the first (placement) running after `after`, stage_static after `stageAfter` (the steps that
    /// store the bundle; default `after`). Without `stage` (a kind that deploys the live bundle again, whose
    /// static files the proxy serves already) there is no stage_static: proxy_update finds them there, and a
    /// failing job never waits for a proxy it did not need. `hooks` sets arguments of post_deploy_hooks.
    static func steps(after: [String], stageAfter: [String]? = nil, stage: Bool = true, spec: @escaping Spec,
                      hooks: @escaping @Sendable (JobContext, inout PostDeployHooksTask.Arguments) -> Void = { _, _ in })
        -> [StepDefinition]
    {
        let steps: [StepDefinition] = [
            placement(after: after, hostnames: { context throws(JobError) in
                try checkHostnames(try spec(context).hostnames, context)
            }) { context throws(JobError) in try spec(context).instances }
                .recording(claimHostnames),
            stageStatic(after: stageAfter ?? after, spec: spec),
            deploy(spec: spec),
            StepDefinition("post_deploy_hooks", after: ["deploy"], task: "post_deploy_hooks",
                           queue: .build, maxAttempts: 1, timeoutSeconds: 1800)
            { context throws(JobError) in
                guard let project = context.project,
                      let instance = try firstInstance(context)["instance"]?.stringValue else {
                    throw .missingOutput("post_deploy_hooks needs a deployed instance")
                }
                var args = PostDeployHooksTask.Arguments(project: try projectID(project), instance: instance)
                // `--param release=false`: deploy without running the Procfile's release command.
                args.release = context.param("release") != "false"
                hooks(context, &args)
                return args.json
            }
            .routed { context throws(JobError) in
                try DeploySteps.appserverQueue(try firstInstance(context)["appserver"]?.stringValue)
            },
            healthCheck(after: ["post_deploy_hooks"], spec: spec),
            proxyUpdate(after: stage ? ["health_check", "stage_static"] : ["health_check"], spec: spec) { context in
                context.outputs["deploy"] ?? []
            },
            DeploySteps.stop("retire_old", after: ["proxy_update"], failure: .warn, select: DeploySteps.active),
            DeploySteps.stop("stop_new_instances", compensation: true) { context in context.outputs["deploy"] ?? [] },
            unstageStatic,
        ]
        return stage ? steps : steps.filter { !["stage_static", "unstage_static"].contains($0.name) }
    }

    /// `stage_static` of `spec`'s static files on the proxy: fetched and kept where proxy_update takes them
    /// from, while placement, the deploys and the hooks run. Its failure (the same proxy_update would meet:
    /// no such bundle, a checksum, a mapped path missing) fails the job before the switch.
    static func stageStatic(after: [String], spec: @escaping Spec) -> StepDefinition {
        StepDefinition("stage_static", after: after, task: "stage_static", queue: .proxy,
                       maxAttempts: 3, backoffSeconds: 2, timeoutSeconds: 600)
        { context throws(JobError) in
            guard let project = context.project else { throw .missingInput("stage_static needs a project") }
            let release = try spec(context)
            var args = StageStaticTask.Arguments(project: try projectID(project), bundle: release.bundle,
                                                 staticFiles: try staticMappings(release).files)
            args.sha256 = release.sha256
            return args.json
        }
    }

    /// `unstage_static`, the compensation: the staged static files of a release that did not go live removed
    /// (when stage_static staged them; a bundle whose files the proxy served already has nothing staged).
    static let unstageStatic = StepDefinition(
        "unstage_static", task: "unstage_static", queue: .proxy, maxAttempts: 3, backoffSeconds: 2,
        timeoutSeconds: 300, compensation: true)
    { context throws(JobError) in
        guard let project = context.project, let bundle = context.item?.stringValue else {
            throw .missingInput("unstage_static needs a project and a bundle")
        }
        return UnstageStaticTask.Arguments(project: try projectID(project), bundle: bundle).json
    }
    .fannedOut { context in
        context.outputs(of: StageStaticTask.self).filter { $0.state == .staged }.map { .string($0.bundle) }
    }

    /// `placement` of `count` new instances, never on the appserver named by the job parameter `exclude` (if
    /// given). An `optional` placement of none is a no-op (and is named
    /// `placement.0` when it runs, as fanned-out steps are).
    /// With `hostnames`, the release's names, checked (see `checkHostnames`), go into its arguments for
    /// `claimHostnames`; the placement handler ignores them.
    static func placement(after: [String], optional: Bool = false, exclude: String? = nil,
                          hostnames: (@Sendable (JobContext) throws(JobError) -> [String])? = nil,
                          count: @escaping @Sendable (JobContext) throws(JobError) -> Int) -> StepDefinition
    {
        let step = StepDefinition("placement", after: after, task: "placement", queue: .build,
                       maxAttempts: 5, backoffSeconds: 3, timeoutSeconds: 60)
        { context throws(JobError) in
            var args = PlacementTask.Arguments(count: try count(context))
            args.hostnames = try hostnames?(context)
            args.instances = (context.facts["instances"]?.objectValue ?? [:]).compactMapValues { value in
                value.intValue.flatMap { Int(exactly: $0) }
            }
            args.database = sqliteDatabase(context)
            if let exclude = exclude.flatMap({ context.param($0) }) { args.exclude = [exclude] }
            args.python = context.facts[bundlePythonFact]?.stringValue
            return args.json
        }
        return optional ? step.fannedOut { context throws(JobError) in try count(context) > 0 ? [.null] : [] } : step
    }

    /// The job fact naming the Python version of an already built bundle the release deploys (a rollback's), which
    /// placement then requires of the appservers it chooses.
    static let bundlePythonFact = "bundle_python"

    /// The app's database for placement when it is SQLite (`engine`, the file's path `name`, the database host's id
    /// `host`): the one this job created, else the one the zoomdb records. Nil for PostgreSQL: any appserver will
    /// do. Never the password.
    static func sqliteDatabase(_ context: JobContext) -> SQLiteDatabaseLocation? {
        var database: [String: JSONValue]
        var host: String?
        if let created = context.outputs["create_database"]?.first {
            database = created
            host = context.hosts["create_database"]?.first
        } else if let recorded = context.facts["database"]?.objectValue {
            database = recorded
            host = recorded["host"]?.stringValue
        } else {
            return nil
        }
        guard database["engine"]?.stringValue == "sqlite", let name = database["name"]?.stringValue else { return nil }
        return SQLiteDatabaseLocation(engine: "sqlite", name: name, host: host)
    }

    /// `deploy` of `spec`'s bundle on each appserver placement chose, the started instances recorded.
    static func deploy(spec: @escaping Spec) -> StepDefinition {
        // Time limits above the longest health_timeout_s a job may give (3600 s).
        StepDefinition("deploy", after: ["placement"], task: "deploy", queue: .build,
                       maxAttempts: 2, backoffSeconds: 2, timeoutSeconds: 3900)
        { context throws(JobError) in try deployArguments(context, try spec(context)) }
            .fannedOut { context in context.outputs["placement"]?.first?["appservers"]?.arrayValue ?? [] }
            .routed { context throws(JobError) in try DeploySteps.appserverQueue(context.item?.stringValue) }
            .recording(recordDeployment)
    }

    /// `proxy_update` after the health checks (and whatever else `after` names): the site of `spec`'s release
    /// sending traffic to `upstreams`.
    static func proxyUpdate(after: [String] = ["health_check"], spec: @escaping Spec,
                            upstreams: @escaping @Sendable (JobContext) throws(JobError) -> [[String: JSONValue]])
        -> StepDefinition
    {
        StepDefinition("proxy_update", after: after, task: "proxy_update", queue: .proxy,
                       maxAttempts: 3, backoffSeconds: 2, timeoutSeconds: 600)
        { context throws(JobError) in try proxyArguments(context, try spec(context), upstreams: try upstreams(context)) }
    }

    /// `health_check` on every instance `deploy` started.
    static func healthCheck(after: [String], spec: @escaping Spec) -> StepDefinition {
        StepDefinition("health_check", after: after, task: "health_check", queue: .build,
                       maxAttempts: 1, timeoutSeconds: 3700)
        { context throws(JobError) in
            guard let project = context.project, let instance = context.item?["instance"]?.stringValue else {
                throw .missingInput("health_check needs a project and an instance")
            }
            var args = HealthCheckTask.Arguments(project: try projectID(project), instance: instance,
                                                 hostnames: try hostnames(try spec(context).hostnames))
            args.healthPath = context.param("health_path")
            args.healthTimeout = healthTimeout(context)
            return args.json
        }
        .fannedOut { context in (context.outputs["deploy"] ?? []).map { .object($0) } }
        .routed { context throws(JobError) in try DeploySteps.appserverQueue(context.item?["appserver"]?.stringValue) }
    }

    /// Records a started instance in the zoomdb's deployments.
    @Sendable static func recordDeployment(_ job: JobRecord, _ step: StepRecord, _ db: ZoomDB) throws {
        guard let project = job.project, let output = try StepOutputs.read(DeployTask.self, step, job, db) else { return }
        try db.recordDeployment(DeploymentRecord(
            project: project, bundle: output.bundle, appserver: output.appserver, instance: output.instance,
            host: output.address, port: output.port, user: output.user, job: job.id))
        try db.log(job.id, .info, "instance \(output.instance) started on appserver \(output.appserver)")
    }

    /// What every deploying kind reads from the zoomdb: `DeploySteps.facts` with the secrets, plus the app's
    /// environment and config version, its host names, its formation, its current release (`current`) and the
    /// host names other projects own (`taken_hostnames`).
    static func facts(_ job: JobRecord, _ db: ZoomDB) throws -> [String: JSONValue] {
        var facts = try DeploySteps.facts(job, db, secrets: true)
        guard let project = job.project else { return facts }
        facts["environment"] = .object(try db.environment(of: project).mapValues { .string($0) })
        facts["config_version"] = .int(Int64(try db.configVersion(of: project)))
        facts["hostnames"] = .array(try db.hostnames(of: project).map { .string($0) })
        let formation = try db.formation(of: project)
        var wanted: [String: JSONValue] = [:]
        if let instances = formation.instances { wanted["instances"] = .int(Int64(instances)) }
        if let workers = formation.workers { wanted["workers"] = .int(Int64(workers)) }
        facts["formation"] = .object(wanted)
        if let current = try db.currentRelease(of: project) { facts["current"] = .object(current.jsonObject) }
        facts["taken_hostnames"] = .object(try db.hostnameOwners(except: project).mapValues { .string($0) })
        facts["app_user"] = .object(try DeploySteps.appUser(of: project, db).jsonObject)
        facts["limits"] = .object(try db.appLimits(of: project))
        return facts
    }

    /// Records the release when the job ends (if it got as far as knowing its bundle) and, when it succeeded,
    /// the formation and host names it put live.
    static func recordRelease(kind: String, spec: @escaping Spec,
                              description: @escaping @Sendable (JobContext) -> String? = { _ in nil })
        -> @Sendable (JobRecord, JobContext, ZoomDB) throws -> Void
    {
        { job, context, db in
            // Whichever way the job ended, its claims end with it: its names are now its project's, or nobody's.
            try db.releaseHostnameClaims(of: job.id)
            guard let project = job.project, let release = try? spec(context) else { return }
            let number = try db.recordRelease(release.record(job, kind: kind, description: description(context)))
            try db.log(job.id, .info, "release \(number) of \(project): \(job.state.rawValue)")
            if job.state == .succeeded {
                try db.setFormation(of: project, instances: release.instances, workers: release.workers)
                try db.setHostnames(of: project, release.hostnames)
                if AppLimitParameters.given(context), let limits = try? AppLimitParameters.limits(context) {
                    try db.setAppLimits(of: project, limits)
                }
            }
        }
    }

    /// The result every deploying kind reports.
    static func result(_ context: JobContext, spec: Spec) -> [String: JSONValue] {
        var result: [String: JSONValue] = [:]
        if let proxy = context.outputs["proxy_update"]?.first { result["urls"] = proxy["urls"] }
        if let release = try? spec(context) {
            result["bundle"] = .string(release.bundle)
            if let revision = release.revision { result["revision"] = .string(revision) }
        }
        result["instances"] = .array((context.outputs["deploy"] ?? []).map { output in
            .object(output.filter { ["instance", "appserver", "address", "port"].contains($0.key) })
        })
        result["retired"] = .array((context.outputs["retire_old"] ?? []).flatMap { $0["stopped"]?.arrayValue ?? [] })
        return result
    }

    // MARK: Arguments

    static func deployArguments(_ context: JobContext, _ release: ReleaseSpec) throws(JobError) -> [String: JSONValue] {
        guard let project = context.project, let appserver = context.item?.stringValue else {
            throw .missingInput("deploy needs a project and an appserver")
        }
        var args = DeployTask.Arguments(project: try projectID(project), bundle: release.bundle,
                                        appserver: appserver, wsgi: release.wsgi,
                                        hostnames: try hostnames(release.hostnames), workers: release.workers)
        args.sha256 = release.sha256
        args.environment = release.environment.compactMapValues(\.stringValue)
        // The database as recorded in the zoomdb: create_database's recorded output keeps only a mask of the
        // password.
        args.database = context.facts["database"]?.objectValue
        args.secretKey = context.facts["secret_key"]?.stringValue
        // The app's unix user, allocated once in the zoomdb: every deploy step of every job names the same one.
        guard let user = context.facts["app_user"]?.objectValue else {
            throw .missingOutput("no unix user is recorded for \(project)")
        }
        do { args.appUser = try AppUserAllocation(json: user) } catch {
            throw .missingOutput("the unix user recorded for \(project) is not one a deploy takes: \(error.message)")
        }
        let limits = try AppLimitParameters.limits(context)
        if !limits.isEmpty { args.limits = limits }
        // Up is enough here: the pages may need the migrations that post_deploy_hooks runs next; health_check
        // asks for a healthy answer after them.
        args.health = .live
        args.healthTimeout = healthTimeout(context)
        return args.json
    }

    /// proxy_update's arguments: the site of `release` sending traffic to `upstreams` (instance outputs or
    /// deployment facts, each with `address` and `port`).
    static func proxyArguments(_ context: JobContext, _ release: ReleaseSpec,
                               upstreams instances: [[String: JSONValue]]) throws(JobError) -> [String: JSONValue]
    {
        guard let project = context.project else { throw .missingInput("proxy_update needs a project") }
        let upstreams: [ProxyUpdateTask.Upstream] = instances.compactMap { instance in
            guard let address = instance["address"]?.stringValue, let port = instance["port"]?.intValue,
                  let number = Int(exactly: port) else { return nil }
            return ProxyUpdateTask.Upstream(address: address, port: number)
        }
        guard !upstreams.isEmpty else { throw .missingOutput("no instance to send traffic to") }
        let (staticFiles, mediaURL) = try staticMappings(release)
        var args = ProxyUpdateTask.Arguments(
            project: try projectID(project), bundle: release.bundle, hostnames: try hostnames(release.hostnames),
            upstreams: upstreams, staticFiles: staticFiles)
        args.mediaURL = mediaURL
        args.sha256 = release.sha256
        args.clientMaxBodySize = release.clientMaxBodySize
        return args.json
    }

    /// The release's static mappings as the proxy's tasks carry them, and its MEDIA_URL: build_bundle reports
    /// MEDIA_URL among the static mappings (`"media": true`), so that release records keep it; the proxy serves it
    /// from the app's media directory, not from the bundle.
    static func staticMappings(_ release: ReleaseSpec) throws(JobError)
        -> (files: [ProxyUpdateTask.StaticFiles], mediaURL: String?)
    {
        var staticFiles: [ProxyUpdateTask.StaticFiles] = []
        var mediaURL: String?
        for entry in release.staticFiles.arrayValue ?? [] {
            guard let url = entry.objectValue?["url"]?.stringValue else {
                throw .missingOutput("the release's static files are not {\"url\", \"path\"} objects: "
                    + String(entry.jsonText.prefix(120)))
            }
            if entry.objectValue?["media"] == .bool(true) {
                mediaURL = url
            } else if let path = entry.objectValue?["path"]?.stringValue {
                staticFiles.append(ProxyUpdateTask.StaticFiles(url: url, path: path))
            } else {
                throw .missingOutput("the release's static mapping of \(url) has no \"path\"")
            }
        }
        return (staticFiles, mediaURL)
    }

    static func projectID(_ text: String) throws(JobError) -> ProjectID {
        do { return try ProjectID(text) } catch { throw .missingInput(error.message) }
    }

    /// The release's host names as tasks carry them (`checkHostnames` has already checked them at planning).
    static func hostnames(_ names: [String]) throws(JobError) -> [Hostname] {
        do { return try Hostname.list(.array(names.map { .string($0) })) } catch { throw .refused(error.message) }
    }

    // MARK: Helpers

    /// The release's host names as the project may have them (lower case), checked before anything starts:
    /// each must pass the coordinator's `HostnamePolicy` (no public suffix, IP address or localhost), and none
    /// may overlap a name another project has or is putting live (`taken_hostnames`). The decisive check is
    /// `claimHostnames`, atomic in the zoomdb: two jobs planned at once both pass this one.
    static func checkHostnames(_ hostnames: [String], _ context: JobContext) throws(JobError) -> [String] {
        guard let project = context.project else { throw .missingInput("host names need a project") }
        guard !hostnames.isEmpty else { throw .refused("an app needs at least one host name") }
        let names: [Hostname]
        do { names = try context.hostnamePolicy.check(hostnames, project: project) } catch {
            throw .refused(error.message)
        }
        let taken = (context.facts["taken_hostnames"]?.objectValue ?? [:]).compactMap { entry in
            (try? Hostname(entry.key)).map { ($0, entry.value.stringValue ?? "?") }
        }
        for name in names {
            if let (other, owner) = taken.first(where: { $0.0.overlaps(name) }) {
                throw .refused(HostnameConflict(hostname: name.rawValue, other: other.rawValue, owner: owner,
                                                job: nil).description)
            }
        }
        return names.map(\.rawValue)
    }

    /// Claims the names placement was given for the job's project (see `ZoomDB.claimHostnames`), in the
    /// coordinator's transaction as placement's result comes in: of two projects adding one name at once, the
    /// first result claims it and the other's placement fails (`hostname-taken`) before any instance starts.
    @Sendable static func claimHostnames(_ job: JobRecord, _ step: StepRecord, _ db: ZoomDB) throws {
        guard let project = job.project else { return }
        let task = try TaskFile(parsing: Array(step.taskFile.utf8), stem: step.taskID)
        let hostnames: [String]
        do { hostnames = try PlacementTask.Arguments(json: task.args).hostnames ?? [] } catch {
            throw StepFailure(kind: "bad-args", message: error.message)
        }
        do {
            try db.claimHostnames(hostnames, project: project, job: job.id)
        } catch let conflict as HostnameConflict {
            throw StepFailure(kind: "hostname-taken", message: conflict.description)
        } catch let bad as BadInput {
            throw StepFailure(kind: "hostname", message: bad.message)
        }
        try db.log(job.id, .info, "host names claimed: \(hostnames.joined(separator: ", "))")
    }

    static func count(_ context: JobContext, _ key: String, default value: Int) throws(JobError) -> Int {
        guard let text = context.param(key) else { return value }
        guard let number = Int(text), (1...32).contains(number) else {
            throw .invalidParameter("\(key) must be a whole number from 1 to 32, not \(text.prefix(20))")
        }
        return number
    }

    /// The `health_timeout_s` parameter: deploy waits that long for a live answer, health_check for a healthy one.
    static func healthTimeout(_ context: JobContext) -> Double? { context.param("health_timeout_s").flatMap(Double.init) }

    static func firstInstance(_ context: JobContext) throws(JobError) -> [String: JSONValue] {
        guard let first = context.outputs["deploy"]?.first else { throw .missingOutput("no instance was deployed") }
        return first
    }

    /// A comma-separated list, blanks dropped.
    static func list(_ text: String) -> [String] {
        text.split(separator: ",").map { String($0).filter { $0 != " " } }.filter { !$0.isEmpty }
    }

    static func strings(_ value: JSONValue?) -> [String] { (value?.arrayValue ?? []).compactMap(\.stringValue) }
}
