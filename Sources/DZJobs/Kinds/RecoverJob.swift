import DZSpool
import DZStore

/// `recover`: moves a project's instances off an appserver that is gone (parameter `appserver`): placement of as
/// many new instances on the other healthy appservers -> deploy of the current release -> health_check ->
/// proxy_update with the project's other instances and the new ones -> `stop_lost`: a stop_instances task on
/// the lost appserver's queue, detached: the job does not wait for it, and it waits there for as long as the
/// appserver is away, so that an appserver that comes back (and whose supervisor relaunches what it ran) stops
/// the moved instances first thing. When the job succeeds the lost instances are marked deactivated. `dz recover
/// --appserver ID` submits one such job per project with instances there; the coordinator does it by itself
/// with `--recover-after`. Not a release: the code, environment and host names stay.
public enum RecoverJob {
    public static let kind: JobKind = {
        let spec: ReleaseSteps.Spec = { context throws(JobError) in try ReleaseSpec.redeploying("current", context) }
        var stopLost = DeploySteps.stop("stop_lost", after: ["proxy_update"], failure: .warn) { context in
            (try? plan(context).lost) ?? []
        }
        stopLost.detached = true
        var kind = JobKind(name: "recover", summary: "move the app's instances off a lost appserver", steps: [
            ReleaseSteps.placement(after: [], exclude: "appserver") { context throws(JobError) in
                try plan(context).lost.count
            },
            ReleaseSteps.deploy(spec: spec),
            ReleaseSteps.healthCheck(after: ["deploy"], spec: spec),
            ReleaseSteps.proxyUpdate(spec: spec) { context throws(JobError) in
                try plan(context).kept + (context.outputs["deploy"] ?? [])
            },
            stopLost,
            DeploySteps.stop("stop_new_instances", compensation: true) { context in context.outputs["deploy"] ?? [] },
        ]) { context in
            // Those stop_lost stopped are no longer among the running instances the plan sees.
            let running = ((try? plan(context).lost) ?? []).compactMap { $0["instance"] }
            let stopped = (context.outputs["stop_lost"] ?? []).flatMap {
                ($0["stopped"]?.arrayValue ?? []) + ($0["missing"]?.arrayValue ?? [])
            }
            return [
                "appserver": context.params["appserver"] ?? .null,
                "lost": .array(running + stopped.filter { !running.contains($0) }),
                "started": .array((context.outputs["deploy"] ?? []).map { output in
                    .object(output.filter { ["instance", "appserver", "address", "port"].contains($0.key) })
                }),
            ]
        }
        kind.needsProject = true
        kind.exclusive = true
        kind.requiredParams = ["appserver"]
        kind.facts = { job, db in try ReleaseSteps.facts(job, db) }
        // Marked only when the job ends, so that stop_lost still sees them: whether that host stopped them or
        // never answered, they are out of the site.
        kind.onFinish = { job, _, db in
            guard job.state == .succeeded, let project = job.project,
                  let appserver = job.params["appserver"]?.stringValue else { return }
            let lost = try db.activeDeployments(of: project).filter { $0.appserver == appserver && $0.job != job.id }
            try db.deactivateDeployments(lost.map(\.instance))
            if !lost.isEmpty {
                try db.log(job.id, .info, "instances on \(appserver) marked stopped: "
                           + lost.map(\.instance).joined(separator: ", "))
            }
        }
        return kind
    }()

    /// The project's running instances on the lost appserver, and the others (those of the current release).
    static func plan(_ context: JobContext) throws(JobError) -> (lost: [[String: JSONValue]], kept: [[String: JSONValue]]) {
        guard let appserver = context.param("appserver") else { throw .missingInput("recover needs --param appserver=ID") }
        let current = context.facts["current"]?["bundle"]?.stringValue
        let active = DeploySteps.active(context)
        let lost = active.filter { $0["appserver"]?.stringValue == appserver }
        guard !lost.isEmpty else {
            throw .refused("project \(context.project ?? "?") has no running instance on appserver \(appserver)")
        }
        let kept = active.filter { $0["appserver"]?.stringValue != appserver && $0["bundle"]?.stringValue == current }
        return (lost, kept)
    }
}
