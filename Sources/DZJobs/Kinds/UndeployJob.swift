import DZSpool
import DZStore
import DZTasks

/// `undeploy`: takes an app off line. remove_proxy_conf (the site goes first, so no request reaches a stopping
/// instance) -> stop_instances on every appserver running one -> drop_database and drop_media (the app's media
/// directory, on every appserver the project was ever deployed to), only with the parameter `drop_data=true` (the
/// database and the media are kept by default). Bundles stay in the store (see `delete_versions`).
public enum UndeployJob {
    public static let kind: JobKind = {
        var kind = JobKind(
            name: "undeploy", summary: "remove the app's site, stop its instances, keep its database unless asked",
            steps: [
                StepDefinition("remove_proxy_conf", task: "remove_proxy_conf", queue: .proxy,
                               maxAttempts: 3, timeoutSeconds: 300)
                { context throws(JobError) in
                    guard let project = context.project else { throw .missingInput("undeploy needs --project") }
                    return ProjectArguments(project: try ReleaseSteps.projectID(project)).json
                },
                DeploySteps.stop("stop_instances", after: ["remove_proxy_conf"], select: DeploySteps.active),
                StepDefinition("drop_database", after: ["stop_instances"], task: "drop_database",
                               queue: .database, maxAttempts: 3)
                { context throws(JobError) in
                    guard let project = context.project else { throw .missingInput("undeploy needs --project") }
                    return DropDatabaseTask.Arguments(project: try ReleaseSteps.projectID(project),
                                                      engine: context.facts["database_engine"]?.stringValue).json
                }
                .fannedOut { context in context.param("drop_data") == "true" ? [.null] : [] },
                // A warning when it fails: an appserver the project once ran on may be gone for good.
                StepDefinition("drop_media", after: ["stop_instances"], task: "drop_media",
                               queue: .build, maxAttempts: 3, backoffSeconds: 2, timeoutSeconds: 600,
                               failure: .warn)
                { context throws(JobError) in
                    guard let project = context.project else { throw .missingInput("undeploy needs --project") }
                    return ProjectArguments(project: try ReleaseSteps.projectID(project)).json
                }
                .fannedOut { context in
                    context.param("drop_data") == "true" ? context.facts["appservers"]?.arrayValue ?? [] : []
                }
                .routed { context throws(JobError) in try DeploySteps.appserverQueue(context.item?.stringValue) },
            ]) { context in
            [
                "stopped": .array((context.outputs["stop_instances"] ?? []).flatMap { $0["stopped"]?.arrayValue ?? [] }),
                "site_removed": .bool(context.outputs(of: RemoveProxyConfTask.self).first?.removed ?? false),
                "database_dropped": .bool(context.outputs(of: DropDatabaseTask.self).first?.dropped ?? false),
                "media_dropped": .array(context.outputs(of: DropMediaTask.self).filter(\.dropped).map {
                    .string($0.directory)
                }),
                "was_deployed": context.facts["deployed"] ?? .null,
            ]
        }
        kind.needsProject = true
        kind.exclusive = true
        kind.facts = { job, db in
            var facts = try DeploySteps.facts(job, db, secrets: false)
            if let project = job.project, let database = try db.appDatabase(of: project) {
                facts["database_engine"] = .string(database.engine)
            }
            if let project = job.project {
                // Every appserver that ever ran the project may hold its media directory.
                var appservers: [String] = []
                for deployment in try db.deployments(of: project) where !appservers.contains(deployment.appserver) {
                    appservers.append(deployment.appserver)
                }
                facts["appservers"] = .array(appservers.map { .string($0) })
                facts["deployed"] = .bool(try facts["database_engine"] != nil || !db.releases(of: project, limit: 1).isEmpty
                                          || !db.deployments(of: project).isEmpty)
            }
            return facts
        }
        return kind
    }()

    /// What `dz undeploy` says instead of success when the job found nothing to take off line (no site, no
    /// instance, no database or media dropped): a project never deployed, or one already undeployed. Nil when it did
    /// something.
    public static func nothingUndeployed(project: String, result: [String: JSONValue]) -> String? {
        guard result["site_removed"] != .bool(true), (result["stopped"]?.arrayValue ?? []).isEmpty,
              result["database_dropped"] != .bool(true), (result["media_dropped"]?.arrayValue ?? []).isEmpty
        else { return nil }
        return result["was_deployed"] == .bool(false)
            ? "project \(project) was never deployed: nothing to undeploy"
            : "project \(project) is not deployed: no site or instance was left to remove"
    }
}
