import DZSpool
import DZStore
import DZTasks

/// `build`: the first half of build_and_deploy. check_repo -> build_bundle -> [create_database || bundle_upload].
/// Parameters: `source` (required), `rev`, `vcs`, `zoombuild_cfg` (the file's text; default: the one check_repo
/// proposes), `collectstatic` (`error` or `warn`), `db_engine` (`postgresql` or `sqlite`; default, in
/// build_and_deploy: the engine of the app's database as recorded; else the config's `database_type`, else the
/// database host's), `postgis` (`true`). The bundle and the app database are recorded in the zoomdb.
public enum BuildJob {
    public static let kind: JobKind = {
        var kind = JobKind(
            name: "build", summary: "check out, build a bundle, store it, and provision the app's database",
            steps: [
                CheckRepoJob.requiringPython(CheckRepoJob.definition.steps[0]),
                StepDefinition("build_bundle", after: ["check_repo"], task: "build_bundle",
                               queue: .build, maxAttempts: 2, timeoutSeconds: 3600)
                { context throws(JobError) in
                    guard let project = context.project, let source = context.param("source") else {
                        throw .missingInput("build needs --project and --param source=URL")
                    }
                    guard let checked = context.outputs(of: CheckRepoTask.self).first else {
                        throw .missingOutput("no output from step check_repo")
                    }
                    let config = context.param("zoombuild_cfg") ?? checked.zoombuildConfig
                    var args = BuildBundleTask.Arguments(project: try ReleaseSteps.projectID(project), source: source,
                                                         zoombuildConfig: config)
                    args.rev = checked.revision?.commit
                    args.collectstatic = context.param("collectstatic")
                    let placed = context.outputs(of: CheckPlacementTask.self).first
                    // The Python check_placement chose (one an appserver has too), when build_and_deploy ran it.
                    args.python = placed?.python
                    args.vcs = context.param("vcs")
                    // Else the engine check_placement found the database hosts agree on (build_and_deploy).
                    args.databaseEngine = context.param("db_engine") ?? recordedEngine(context) ?? placed?.engine
                    return args.json
                },
                StepDefinition("create_database", after: ["build_bundle"], task: "create_database",
                               queue: .database, maxAttempts: 3) { context throws(JobError) in
                    guard let project = context.project else { throw .missingInput("build needs --project") }
                    // The engine the bundle was built for (its driver): the parameter, else the app's database's
                    // as recorded, else the config's.
                    guard let built = context.outputs(of: BuildBundleTask.self).first else {
                        throw .missingOutput("no output from step build_bundle")
                    }
                    return CreateDatabaseTask.Arguments(
                        project: try ReleaseSteps.projectID(project),
                        engine: context.param("db_engine") ?? recordedEngine(context) ?? built.databaseEngine,
                        postgis: context.param("postgis") == "true" || built.postgis).json
                }
                .recording { job, step, db in
                    guard let project = job.project, let output = step.output else { return }
                    // An SQLite database is a file on the host that made it: its host is that host's id, which
                    // placement keeps the app's instances to.
                    let engine = output["engine"]?.stringValue ?? ""
                    try db.recordAppDatabase(AppDatabaseRecord(
                        project: project, engine: engine,
                        host: output["host"]?.stringValue ?? (engine == "sqlite" ? step.host : nil),
                        port: output["port"]?.intValue.map(Int.init),
                        name: output["name"]?.stringValue ?? "", user: output["user"]?.stringValue,
                        password: output["password"]?.stringValue))
                },
                StepDefinition("bundle_upload", after: ["build_bundle"], task: "bundle_upload",
                               queue: .build, maxAttempts: 3, timeoutSeconds: 1800)
                { context throws(JobError) in
                    guard let project = context.project else { throw .missingInput("build needs --project") }
                    guard let bundle = context.outputs(of: BuildBundleTask.self).first?.bundle else {
                        throw .missingOutput("build_bundle reported no bundle name")
                    }
                    return BundleUploadTask.Arguments(project: try ReleaseSteps.projectID(project), bundle: bundle).json
                }
                // The archive is on the host that built it: the upload runs there.
                .routed { context throws(JobError) in try context.queueOfHost(thatRan: "build_bundle") }
                .recording { job, step, db in
                    guard let project = job.project,
                          let output = try StepOutputs.read(BundleUploadTask.self, step, job, db) else { return }
                    try db.recordBundle(project: project, name: output.bundle, codeRevision: output.codeRevision,
                                        sha256: output.sha256, size: output.size, storageURL: output.url)
                    try db.log(job.id, .info, "bundle \(output.bundle) stored")
                },
            ]) { context in
            var result: [String: JSONValue] = [:]
            if let built = context.outputs["build_bundle"]?.first {
                for key in ["bundle", "sha256", "size", "revision", "python_version", "django_version",
                            "virtualenv_reused", "timings", "warnings"] { result[key] = built[key] }
            }
            if let uploaded = context.outputs["bundle_upload"]?.first { result["url"] = uploaded["url"] }
            if let database = context.outputs["create_database"]?.first {
                result["database"] = .object(database.filter { $0.key != "password" })
            }
            return result
        }
        kind.requiredParams = ["source"]
        kind.needsProject = true
        return kind
    }()

    /// The engine of the app's database as the zoomdb records it (a fact of deploying kinds): a redeploy keeps
    /// the database it has rather than the config's default.
    static func recordedEngine(_ context: JobContext) -> String? {
        context.facts["database"]?["engine"]?.stringValue
    }
}
