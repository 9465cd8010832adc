import DZSpool
import DZStore
import DZTasks

/// `scale`: changes how many instances of the current release run (`instances`, 1 to 32) and how many gunicorn
/// workers each has (`workers`, 1 to 32). More instances: placement of the new ones -> deploy -> health_check ->
/// proxy_update with the old and the new. Fewer: proxy_update without the extra ones -> stop_instances on them.
/// Workers change in place on the kept instances (`scale_workers`: SIGTTIN/SIGTTOU to each gunicorn master);
/// new instances start with the new count. The wanted formation is recorded when the job succeeds, so later
/// deploys keep it. Scaling is not a release: the code, environment and host names stay.
public enum ScaleJob {
    public static let kind: JobKind = {
        let spec: ReleaseSteps.Spec = { context throws(JobError) in try ReleaseSpec.redeploying("current", context) }
        var kind = JobKind(name: "scale", summary: "change the number of instances or workers of the app", steps: [
            ReleaseSteps.placement(after: [], optional: true) { context throws(JobError) in
                try plan(context).add
            },
            ReleaseSteps.deploy(spec: spec),
            ReleaseSteps.healthCheck(after: ["deploy"], spec: spec),
            ReleaseSteps.proxyUpdate(spec: spec) { context throws(JobError) in
                try plan(context).kept + (context.outputs["deploy"] ?? [])
            }
            .fannedOut { context throws(JobError) in
                let plan = try plan(context)
                return plan.add > 0 || !plan.removed.isEmpty ? [.null] : []
            },
            StepDefinition("scale_workers", after: ["proxy_update"], task: "scale_workers",
                           queue: .build, maxAttempts: 2, backoffSeconds: 2, timeoutSeconds: 120)
            { context throws(JobError) in
                guard let project = context.project, let item = context.item?.objectValue,
                      let workers = try plan(context).workers else {
                    throw .missingInput("scale_workers needs a project, instances and a worker count")
                }
                return ScaleWorkersTask.Arguments(
                    project: try ReleaseSteps.projectID(project),
                    instances: (item["instances"]?.arrayValue ?? []).compactMap(\.stringValue), workers: workers).json
            }
            .fannedOut { context throws(JobError) in
                let plan = try plan(context)
                return plan.workers == nil ? [] : DeploySteps.byAppserver(plan.kept)
            }
            .routed { context throws(JobError) in
                try DeploySteps.appserverQueue(context.item?["appserver"]?.stringValue)
            },
            DeploySteps.stop("stop_instances", after: ["proxy_update"]) { context in
                (try? plan(context).removed) ?? []
            },
            DeploySteps.stop("stop_new_instances", compensation: true) { context in context.outputs["deploy"] ?? [] },
        ]) { context in
            var result: [String: JSONValue] = [:]
            if let plan = try? plan(context) {
                result["instances"] = .int(Int64(plan.kept.count + (context.outputs["deploy"] ?? []).count))
                if let workers = plan.workers { result["workers"] = .int(Int64(workers)) }
            }
            result["started"] = .array((context.outputs["deploy"] ?? []).compactMap { $0["instance"] })
            result["stopped"] = .array((context.outputs["stop_instances"] ?? []).flatMap {
                $0["stopped"]?.arrayValue ?? []
            })
            return result
        }
        kind.needsProject = true
        kind.exclusive = true
        kind.facts = { job, db in try ReleaseSteps.facts(job, db) }
        kind.onFinish = { job, context, db in
            guard job.state == .succeeded, let project = job.project, let plan = try? plan(context) else { return }
            try db.setFormation(of: project, instances: plan.instances, workers: plan.workers)
        }
        return kind
    }()

    /// What scaling does: the running instances of the current release that stay (`kept`, oldest first) and
    /// go (`removed`), how many to add, the worker count to set (nil: unchanged).
    struct Plan {
        var kept: [[String: JSONValue]]
        var removed: [[String: JSONValue]]
        var add: Int
        var instances: Int?
        var workers: Int?
    }

    static func plan(_ context: JobContext) throws(JobError) -> Plan {
        guard let current = context.facts["current"]?["bundle"]?.stringValue else {
            throw .refused("project \(context.project ?? "?") has no release to scale: run `dz deploy` first")
        }
        let instances = try context.param("instances").map { _ throws(JobError) in
            try ReleaseSteps.count(context, "instances", default: 1)
        }
        let workers = try context.param("workers").map { _ throws(JobError) in
            try ReleaseSteps.count(context, "workers", default: 1)
        }
        guard instances != nil || workers != nil else { throw .missingInput("scale needs instances or workers") }
        // The instances of other jobs that run the current release's bundle; older leftovers are not counted.
        let running = DeploySteps.active(context).filter { $0["bundle"]?.stringValue == current }
        guard !running.isEmpty else {
            throw .refused("project \(context.project ?? "?") has no running instance of its current release")
        }
        let wanted = instances ?? running.count
        return Plan(kept: Array(running.prefix(wanted)), removed: Array(running.dropFirst(wanted)),
                    add: max(0, wanted - running.count), instances: instances, workers: workers)
    }
}
