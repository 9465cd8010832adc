import DZSpool
import DZStore

/// `config`: puts the app's environment as the zoomdb now holds it (`dz config set/unset` wrote it there, never
/// through a task file or the audit log) live, as a new release of the current bundle through the release steps:
/// new instances start with the new environment, pass their health check, take the traffic, and the old ones are
/// retired. Parameters: `change` (what changed, names only, for the release's description).
public enum ConfigJob {
    public static let kind: JobKind = {
        let spec: ReleaseSteps.Spec = { context throws(JobError) in try ReleaseSpec.redeploying("current", context) }
        var kind = JobKind(name: "config", summary: "restart the app with its new environment (a new release)",
                           steps: ReleaseSteps.steps(after: [], stage: false, spec: spec))
        { context in
            var result = ReleaseSteps.result(context, spec: spec)
            result["config_version"] = context.facts["config_version"] ?? .null
            return result
        }
        kind.needsProject = true
        kind.exclusive = true
        kind.facts = { job, db in try ReleaseSteps.facts(job, db) }
        kind.onFinish = ReleaseSteps.recordRelease(kind: "config", spec: spec) { context in
            let version = context.facts["config_version"]?.intValue ?? 0
            return "config version \(version)" + (context.param("change").map { ": \($0.prefix(200))" } ?? "")
        }
        return kind
    }()
}
