import DZSpool
import DZStore
import DZTasks

/// `rollback`: deploys the bundle of an earlier succeeded release again, through the same release steps as
/// build_and_deploy (placement, deploy, hooks, health check, the proxy switch, retire_old), without building.
/// The code goes back; the environment (`dz config`), the host names and the formation stay as they are now.
///
/// Parameters: `to` (a release number; default the newest succeeded release before the current one whose
/// bundle differs), `allow_schema_mismatch` (`true` to deploy even though the database has migrations the
/// target bundle does not know). post_deploy_hooks checks the schema first (`check_schema`): by default a
/// database ahead of the target's migrations fails the rollback before any traffic moves, saying which
/// migrations to reverse (`dz manage --project P -- migrate APP TARGET` on the current release).
public enum RollbackJob {
    public static let kind: JobKind = {
        let spec: ReleaseSteps.Spec = { context throws(JobError) in try ReleaseSpec.redeploying("target", context) }
        var kind = JobKind(name: "rollback", summary: "deploy an earlier release's bundle again, without building",
                           steps: ReleaseSteps.steps(after: [], spec: spec) { context, hooks in
                               hooks.checkSchema = true
                               hooks.allowSchemaMismatch = context.param("allow_schema_mismatch") == "true"
                           })
        { context in
            var result = ReleaseSteps.result(context, spec: spec)
            result["rolled_back_to"] = context.facts["target"]?["number"] ?? .null
            if let python = context.facts[ReleaseSteps.bundlePythonFact] { result["python_version"] = python }
            return result
        }
        kind.needsProject = true
        kind.exclusive = true
        kind.facts = { job, db in
            var facts = try ReleaseSteps.facts(job, db)
            switch try target(job, db) {
            case .success(let release):
                facts["target"] = .object(release.jsonObject)
                // Placement offers the bundle only appservers with its Python: a rollback to a bundle built for
                // another Python fails there, in seconds, not at the deploy.
                if let python = try bundlePython(release, db) { facts[ReleaseSteps.bundlePythonFact] = .string(python) }
            case .failure(let error): facts["target_error"] = .string(error.message)
            }
            return facts
        }
        kind.onFinish = ReleaseSteps.recordRelease(kind: "rollback", spec: spec) { context in
            context.facts["target"]?["number"]?.intValue.map { "rollback to release \($0)" }
        }
        return kind
    }()

    /// The Python version `release`'s bundle was built with, as the job that built or deployed it reported it (a
    /// rollback's own result carries it on); nil when no release of that bundle says.
    static func bundlePython(_ release: ReleaseRecord, _ db: ZoomDB) throws -> String? {
        for candidate in try db.releases(of: release.project) where candidate.bundle == release.bundle {
            guard let id = candidate.job, let job = try db.job(id),
                  let python = job.result?["python_version"]?.stringValue, !python.isEmpty else { continue }
            return python
        }
        return nil
    }

    /// The release to roll back to: the `to` parameter, else the newest succeeded release before the current one
    /// with another bundle. Its bundle must still be stored.
    static func target(_ job: JobRecord, _ db: ZoomDB) throws -> Result<ReleaseRecord, JobError> {
        guard let project = job.project else { return .failure(.missingInput("rollback needs --project")) }
        let releases = try db.releases(of: project)
        let chosen: ReleaseRecord
        if let text = job.params["to"]?.parameterText {
            guard let number = Int(text), number > 0 else {
                return .failure(.invalidParameter("to must be a release number, not \(text.prefix(20))"))
            }
            guard let release = releases.first(where: { $0.number == number }) else {
                return .failure(.refused("project \(project) has no release \(number): see `dz releases --project \(project)`"))
            }
            guard release.succeeded else {
                return .failure(.refused("release \(number) of \(project) \(release.result): only a succeeded release can be rolled back to"))
            }
            chosen = release
        } else {
            let succeeded = releases.filter(\.succeeded)
            guard let current = succeeded.first else {
                return .failure(.refused("project \(project) has no succeeded release to roll back from"))
            }
            guard let previous = succeeded.dropFirst().first(where: { $0.bundle != current.bundle }) else {
                return .failure(.refused("project \(project) has no earlier release with other code than release \(current.number)"))
            }
            chosen = previous
        }
        if let stored = try db.bundles(of: project).first(where: { $0.name == chosen.bundle }), stored.deleted != nil {
            return .failure(.refused("the bundle of release \(chosen.number) (\(chosen.bundle)) was deleted from the store"))
        }
        return .success(chosen)
    }
}
