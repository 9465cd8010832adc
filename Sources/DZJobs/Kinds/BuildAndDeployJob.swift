import DZSpool
import DZStore

/// `build_and_deploy`: the main job. check_repo -> build_bundle -> [create_database || bundle_upload] ->
/// placement -> deploy (one per instance, on the chosen appservers: installed, started, answering HTTP) ->
/// post_deploy_hooks (migrate and the release command, on the first new instance, before any traffic reaches it)
/// -> health_check (every new instance answers its first host name below 500, now that the database is migrated)
/// -> proxy_update (the switch) -> retire_old (stop the project's previous instances, only after the switch; a
/// failure is a warning).
/// When a step fails, `stop_new_instances` stops what this job started: the old version keeps serving.
///
/// Parameters: those of `build` (`source`, `rev`, `vcs`, `zoombuild_cfg`, `collectstatic`, `db_engine`,
/// `postgis`), and `instances` (how many, default 1), `workers` (gunicorn workers per instance, default the
/// config's `num_workers`, else 2), `hostnames` (comma-separated; default the config's, else
/// `<project>.localhost`), `client_max_body_size`, `health_path`, `health_timeout_s`, `check_schema` and
/// `allow_schema_mismatch` (`true` passes them on to post_deploy_hooks).
/// Result: `urls`, `bundle`, `instances` (appserver, address, port of each).
public enum BuildAndDeployJob {
    public static let kind: JobKind = {
        let build = BuildJob.kind.steps
        var kind = JobKind(
            name: "build_and_deploy", summary: "build a bundle and deploy it behind the proxy, then retire the old",
            steps: build + [
                StepDefinition("placement", after: ["create_database", "bundle_upload"], task: "placement",
                               queue: try! QueueName("build"), maxAttempts: 5, backoffSeconds: 3, timeoutSeconds: 60)
                { context throws(JobError) in
                    var args: [String: JSONValue] = ["count": .int(Int64(try count(context, "instances", default: 1)))]
                    if let instances = context.facts["instances"] { args["instances"] = instances }
                    return args
                },
                // Time limits above the longest health_timeout_s a job may give (3600 s).
                StepDefinition("deploy", after: ["placement"], task: "deploy", queue: try! QueueName("build"),
                               maxAttempts: 2, backoffSeconds: 2, timeoutSeconds: 3900)
                { context throws(JobError) in try deployArguments(context) }
                    .fannedOut { context throws(JobError) in
                        try context.output(of: "placement")["appservers"]?.arrayValue ?? []
                    }
                    .routed { context throws(JobError) in try DeploySteps.appserverQueue(context.item?.stringValue) }
                    .recording { job, step, db in
                        guard let project = job.project, let output = step.output,
                              let instance = output["instance"]?.stringValue,
                              let appserver = output["appserver"]?.stringValue,
                              let bundle = output["bundle"]?.stringValue else { return }
                        try db.recordDeployment(DeploymentRecord(
                            project: project, bundle: bundle, appserver: appserver, instance: instance,
                            host: output["address"]?.stringValue, port: output["port"]?.intValue.map(Int.init),
                            user: output["user"]?.stringValue, job: job.id))
                        try db.log(job.id, .info, "instance \(instance) started on appserver \(appserver)")
                    },
                StepDefinition("post_deploy_hooks", after: ["deploy"], task: "post_deploy_hooks",
                               queue: try! QueueName("build"), maxAttempts: 1, timeoutSeconds: 1800)
                { context throws(JobError) in
                    guard let project = context.project,
                          let instance = try firstInstance(context)["instance"] else {
                        throw JobError("post_deploy_hooks needs a deployed instance")
                    }
                    var args: [String: JSONValue] = ["project": .string(project), "instance": instance]
                    // The schema check a rollback asks for (see PostDeployHooksHandler).
                    for key in ["check_schema", "allow_schema_mismatch"] where context.param(key) == "true" {
                        args[key] = .bool(true)
                    }
                    return args
                }
                .routed { context throws(JobError) in
                    try DeploySteps.appserverQueue(try firstInstance(context)["appserver"]?.stringValue)
                },
                StepDefinition("health_check", after: ["post_deploy_hooks"], task: "health_check",
                               queue: try! QueueName("build"), maxAttempts: 1, timeoutSeconds: 3700)
                { context throws(JobError) in
                    guard let project = context.project, let instance = context.item?["instance"] else {
                        throw JobError("health_check needs a project and an instance")
                    }
                    var args: [String: JSONValue] = ["project": .string(project), "instance": instance,
                                                     "hostnames": .array(hostnames(context))]
                    if let path = context.param("health_path") { args["health_path"] = .string(path) }
                    if let seconds = healthTimeout(context) { args["health_timeout_s"] = .double(seconds) }
                    return args
                }
                .fannedOut { context in (context.outputs["deploy"] ?? []).map { .object($0) } }
                .routed { context throws(JobError) in
                    try DeploySteps.appserverQueue(context.item?["appserver"]?.stringValue)
                },
                StepDefinition("proxy_update", after: ["health_check"], task: "proxy_update",
                               queue: try! QueueName("proxy"), maxAttempts: 3, backoffSeconds: 2, timeoutSeconds: 600)
                { context throws(JobError) in try proxyArguments(context) },
                DeploySteps.stop("retire_old", after: ["proxy_update"], failure: .warn, select: DeploySteps.active),
                DeploySteps.stop("stop_new_instances", compensation: true) { context in
                    context.outputs["deploy"] ?? []
                },
            ]) { context in
            var result: [String: JSONValue] = [:]
            if let proxy = context.outputs["proxy_update"]?.first { result["urls"] = proxy["urls"] }
            if let built = context.outputs["build_bundle"]?.first {
                for key in ["bundle", "revision", "python_version", "django_version", "warnings"] { result[key] = built[key] }
            }
            result["instances"] = .array((context.outputs["deploy"] ?? []).map { output in
                .object(output.filter { ["instance", "appserver", "address", "port"].contains($0.key) })
            })
            if let database = context.outputs["create_database"]?.first {
                result["database"] = .object(database.filter { ["engine", "host", "port", "name"].contains($0.key) })
            }
            result["retired"] = .array((context.outputs["retire_old"] ?? []).flatMap { $0["stopped"]?.arrayValue ?? [] })
            return result
        }
        kind.requiredParams = ["source"]
        kind.needsProject = true
        kind.facts = { job, db in try DeploySteps.facts(job, db, secrets: true) }
        return kind
    }()

    static func count(_ context: JobContext, _ key: String, default value: Int) throws(JobError) -> Int {
        guard let text = context.param(key) else { return value }
        guard let number = Int(text), (1...32).contains(number) else {
            throw JobError("\(key) must be a whole number from 1 to 32, not \(text.prefix(20))")
        }
        return number
    }

    /// The `health_timeout_s` parameter: deploy waits that long for a live answer, health_check for a healthy one.
    static func healthTimeout(_ context: JobContext) -> Double? { context.param("health_timeout_s").flatMap(Double.init) }

    static func firstInstance(_ context: JobContext) throws(JobError) -> [String: JSONValue] {
        guard let first = context.outputs["deploy"]?.first else { throw JobError("no instance was deployed") }
        return first
    }

    /// The hostnames: the parameter, else the config's, else `<project>.localhost`.
    static func hostnames(_ context: JobContext) -> [JSONValue] {
        if let text = context.param("hostnames"), !text.isEmpty {
            return text.split(separator: ",").map { .string(String($0).filter { $0 != " " }) }
        }
        if let configured = context.outputs["build_bundle"]?.first?["hostnames"]?.arrayValue, !configured.isEmpty {
            return configured
        }
        // Project ids may hold `_`, which host names may not.
        return [.string((context.project ?? "app").replacingOccurrences(of: "_", with: "-") + ".localhost")]
    }

    static func deployArguments(_ context: JobContext) throws(JobError) -> [String: JSONValue] {
        guard let project = context.project, let appserver = context.item?.stringValue else {
            throw JobError("deploy needs a project and an appserver")
        }
        let built = try context.output(of: "build_bundle")
        let uploaded = try context.output(of: "bundle_upload")
        guard let bundle = uploaded["bundle"], let wsgi = built["wsgi"] else {
            throw JobError("build_bundle reported no bundle or WSGI application")
        }
        let configured = built["num_workers"]?.intValue.map(Int.init) ?? 2
        var args: [String: JSONValue] = [
            "project": .string(project), "appserver": .string(appserver), "bundle": bundle, "wsgi": wsgi,
            "hostnames": .array(hostnames(context)),
            "workers": .int(Int64(try count(context, "workers", default: min(max(configured, 1), 32)))),
        ]
        if let sha256 = uploaded["sha256"] { args["sha256"] = sha256 }
        // The database as recorded in the zoomdb: create_database's recorded output keeps only a mask of the
        // password.
        if let database = context.facts["database"] { args["database"] = database }
        if let key = context.facts["secret_key"] { args["secret_key"] = key }
        // Up is enough here: the pages may need the migrations that post_deploy_hooks runs next; health_check
        // asks for a healthy answer after them.
        args["health"] = .string("live")
        if let seconds = healthTimeout(context) { args["health_timeout_s"] = .double(seconds) }
        return args
    }

    static func proxyArguments(_ context: JobContext) throws(JobError) -> [String: JSONValue] {
        guard let project = context.project else { throw JobError("proxy_update needs a project") }
        let uploaded = try context.output(of: "bundle_upload")
        let upstreams: [JSONValue] = (context.outputs["deploy"] ?? []).compactMap { output in
            guard let address = output["address"], let port = output["port"] else { return nil }
            return .object(["address": address, "port": port])
        }
        guard !upstreams.isEmpty else { throw JobError("no instance to send traffic to") }
        var args: [String: JSONValue] = [
            "project": .string(project), "bundle": uploaded["bundle"] ?? .null, "hostnames": .array(hostnames(context)),
            "upstreams": .array(upstreams),
            "static": try context.output(of: "build_bundle")["static"] ?? .array([]),
        ]
        if let sha256 = uploaded["sha256"] { args["sha256"] = sha256 }
        if let size = context.param("client_max_body_size") { args["client_max_body_size"] = .string(size) }
        return args
    }
}
