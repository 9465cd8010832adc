import DZSpool
import DZStore
import DZTasks

/// `build_and_deploy`: the main job. check_repo -> check_placement (an SQLite app that no appserver could run is
/// refused before its build) -> build_bundle -> [create_database || bundle_upload], then the
/// release steps (see `ReleaseSteps`): placement -> deploy -> post_deploy_hooks -> health_check -> proxy_update ->
/// retire_old, with stage_static beside them from bundle_upload on (proxy_update waits for it), and
/// `stop_new_instances` and `unstage_static` as compensation. Once it has a stored bundle, the job is a release of
/// the project (see `dz releases`), succeeded or not.
///
/// Parameters: those of `build` (`source`, `rev`, `vcs`, `zoombuild_cfg`, `collectstatic`, `db_engine`,
/// `postgis`), and `instances` (how many; default the project's formation, else 1), `workers` (gunicorn workers
/// per instance; default the formation, else the config's `num_workers`, else 2), `hostnames` (comma-separated;
/// added to the project's host names, which are kept; default the project's host names, else the config's, else
/// `<project>.localhost`), `client_max_body_size`, `health_path`, `health_timeout_s`, `release` (`false`: the
/// Procfile's release command is not run). The app's environment is the one set with `dz config`.
/// Result: `urls`, `bundle`, `instances` (appserver, address, port of each), `retired`, and what the build found.
public enum BuildAndDeployJob {
    public static let kind: JobKind = {
        let spec: ReleaseSteps.Spec = { context throws(JobError) in try built(context) }
        var kind = JobKind(
            name: "build_and_deploy", summary: "build a bundle and deploy it behind the proxy, then retire the old",
            steps: CheckPlacementStep.around(BuildJob.kind.steps)
                + ReleaseSteps.steps(after: ["create_database", "bundle_upload"], stageAfter: ["bundle_upload"],
                                     spec: spec))
        { context in
            var result = ReleaseSteps.result(context, spec: spec)
            if let built = context.outputs["build_bundle"]?.first {
                for key in ["python_version", "django_version", "warnings"] { result[key] = built[key] }
            }
            if let database = context.outputs["create_database"]?.first {
                result["database"] = .object(database.filter { ["engine", "host", "port", "name"].contains($0.key) })
            }
            return result
        }
        kind.requiredParams = ["source"]
        kind.needsProject = true
        kind.exclusive = true
        kind.facts = { job, db in try ReleaseSteps.facts(job, db) }
        kind.onFinish = ReleaseSteps.recordRelease(kind: "build_and_deploy", spec: spec) { context in
            context.outputs(of: BuildBundleTask.self).first?.revision.map { "build of \($0.prefix(12))" }
        }
        return kind
    }()

    /// The release this job built: its bundle as stored, with the host names (the parameter, else the project's,
    /// else the config's, else `<project>.localhost`), the formation (parameters, else the project's, else the
    /// config's workers) and the environment.
    static func built(_ context: JobContext) throws(JobError) -> ReleaseSpec {
        guard let built = context.outputs(of: BuildBundleTask.self).first,
              let uploaded = context.outputs(of: BundleUploadTask.self).first, let wsgi = built.wsgi else {
            throw .missingOutput("build_bundle reported no bundle or WSGI application")
        }
        let formation = context.facts["formation"]?.objectValue ?? [:]
        let configured = built.numWorkers.map { min(max($0, 1), 32) } ?? 2
        return ReleaseSpec(
            bundle: uploaded.bundle, sha256: uploaded.sha256, revision: built.revision, wsgi: wsgi,
            staticFiles: .array(built.staticFiles.map { .object($0.json) }), hostnames: hostnames(context),
            instances: try ReleaseSteps.count(context, "instances",
                                              default: formation["instances"]?.intValue.map(Int.init) ?? 1),
            workers: try ReleaseSteps.count(context, "workers",
                                            default: formation["workers"]?.intValue.map(Int.init) ?? configured),
            environment: context.facts["environment"]?.objectValue ?? [:],
            configVersion: Int(context.facts["config_version"]?.intValue ?? 0),
            clientMaxBodySize: context.param("client_max_body_size"))
    }

    /// The release's host names: the `hostnames` parameter's, followed by the project's own that it does not name
    /// (names added with `dz hostnames add` since the last deploy are kept: a CI job that always deploys with the
    /// same `--hostname` must not silently take them off line; `dz hostnames remove` removes a name); without the
    /// parameter, the project's; else the config's; else `<project>.localhost`.
    static func hostnames(_ context: JobContext) -> [String] {
        let stored = ReleaseSteps.strings(context.facts["hostnames"])
        if let text = context.param("hostnames"), !text.isEmpty {
            var names: [String] = []
            for name in ReleaseSteps.list(text).map({ $0.lowercased() }) + stored where !names.contains(name) {
                names.append(name)
            }
            return names
        }
        if !stored.isEmpty { return stored }
        let configured = context.outputs(of: BuildBundleTask.self).first?.hostnames ?? []
        if !configured.isEmpty { return configured.map { $0.lowercased() } }
        return [HostnamePolicy.developmentName(of: context.project ?? "app")]
    }
}
