import DZSpool
import DZStore

/// What a deploying job puts live: a stored bundle, how to run it (WSGI application, workers, instances), where
/// (host names) and with which environment. build_and_deploy makes it from what it built; rollback, config and
/// hostnames from a recorded release and what the zoomdb wants now (see `ReleaseSteps.facts`).
struct ReleaseSpec: Sendable {
    var bundle: String
    var sha256: String?
    var revision: String?
    var wsgi: String
    var staticFiles: JSONValue
    var hostnames: [String]
    var instances: Int
    var workers: Int
    /// The environment set with `dz config`, as a JSON object of strings.
    var environment: [String: JSONValue]
    var configVersion: Int
    var clientMaxBodySize: String?

    /// The spec that redeploys `release` (a fact, see `ReleaseSteps.facts`) with the project's wanted host names,
    /// formation and environment; parameters `instances`, `workers` and `hostnames` override them.
    static func redeploying(_ key: String, _ context: JobContext) throws(JobError) -> ReleaseSpec {
        guard let project = context.project,
              let object = context.facts[key]?.objectValue,
              let release = ReleaseRecord(project: project, json: object) else {
            throw .refused(context.facts["\(key)_error"]?.stringValue
                           ?? "project \(context.project ?? "?") has no release to deploy: run `dz deploy` first")
        }
        var hostnames = ReleaseSteps.strings(context.facts["hostnames"])
        if hostnames.isEmpty { hostnames = release.hostnames }
        if let text = context.param("hostnames"), !text.isEmpty { hostnames = ReleaseSteps.list(text).map { $0.lowercased() } }
        let formation = context.facts["formation"]?.objectValue ?? [:]
        return ReleaseSpec(
            bundle: release.bundle, sha256: release.sha256, revision: release.revision, wsgi: release.wsgi,
            staticFiles: release.staticFiles, hostnames: hostnames,
            instances: try ReleaseSteps.count(context, "instances",
                                              default: formation["instances"]?.intValue.map(Int.init)
                                                  ?? release.instances ?? 1),
            workers: try ReleaseSteps.count(context, "workers",
                                            default: formation["workers"]?.intValue.map(Int.init)
                                                ?? release.workers ?? 2),
            environment: context.facts["environment"]?.objectValue ?? [:],
            configVersion: Int(context.facts["config_version"]?.intValue ?? 0),
            clientMaxBodySize: context.param("client_max_body_size") ?? release.clientMaxBodySize)
    }

    /// The release record of a job that deployed this spec and ended in `job.state`.
    func record(_ job: JobRecord, kind: String, description: String?) -> ReleaseRecord {
        ReleaseRecord(project: job.project ?? "", kind: kind, description: description, bundle: bundle,
                      sha256: sha256, revision: revision, wsgi: wsgi, staticFiles: staticFiles, hostnames: hostnames,
                      configVersion: configVersion, instances: instances, workers: workers,
                      clientMaxBodySize: clientMaxBodySize, result: job.state.rawValue, job: job.id, issuedBy: job.issuedBy,
                      created: job.finished ?? .now())
    }
}
