import DZSpool
import DZStore

/// `hostnames`: adds or removes host names of an app (parameters `add` and `remove`, comma-separated; wildcards
/// such as `*.example.com` allowed) and puts them live as a new release of the current bundle: the instances
/// restart with the new names (Django's ALLOWED_HOSTS) and the site is rendered again with them. A name the
/// coordinator's `HostnamePolicy` refuses, or one that overlaps a name another project has or is putting live, is
/// refused when placement is planned, and claimed when it succeeds (see `ReleaseSteps.checkHostnames` and
/// `claimHostnames`); removing the last name is refused.
public enum HostnamesJob {
    public static let kind: JobKind = {
        let spec: ReleaseSteps.Spec = { context throws(JobError) in try changed(context) }
        var kind = JobKind(name: "hostnames", summary: "add or remove the app's host names (a new release)",
                           steps: ReleaseSteps.steps(after: [], stage: false, spec: spec))
        { context in
            var result = ReleaseSteps.result(context, spec: spec)
            result["hostnames"] = (try? spec(context)).map { .array($0.hostnames.map { .string($0) }) } ?? .null
            return result
        }
        kind.needsProject = true
        kind.exclusive = true
        kind.facts = { job, db in try ReleaseSteps.facts(job, db) }
        kind.onFinish = ReleaseSteps.recordRelease(kind: "hostnames", spec: spec) { context in
            var words: [String] = []
            if let add = context.param("add"), !add.isEmpty { words.append("add \(add.prefix(200))") }
            if let remove = context.param("remove"), !remove.isEmpty { words.append("remove \(remove.prefix(200))") }
            return words.isEmpty ? nil : words.joined(separator: "; ")
        }
        return kind
    }()

    /// The current release with the host names changed. Names are compared case-insensitively and kept in
    /// lower case; adding a name already there or removing one that is not is an error, so that a typo is seen.
    static func changed(_ context: JobContext) throws(JobError) -> ReleaseSpec {
        var release = try ReleaseSpec.redeploying("current", context)
        let add = ReleaseSteps.list(context.param("add") ?? "").map { $0.lowercased() }
        let remove = ReleaseSteps.list(context.param("remove") ?? "").map { $0.lowercased() }
        guard !add.isEmpty || !remove.isEmpty else { throw .missingInput("hostnames needs --param add=NAME or remove=NAME") }
        var names = release.hostnames.map { $0.lowercased() }
        for name in add {
            guard !names.contains(name) else { throw .refused("\(name) is already a host name of \(context.project ?? "?")") }
            names.append(name)
        }
        for name in remove {
            guard names.contains(name) else { throw .refused("\(name) is not a host name of \(context.project ?? "?")") }
            names.removeAll { $0 == name }
        }
        guard !names.isEmpty else { throw .refused("an app needs at least one host name: add another first") }
        release.hostnames = names
        return release
    }
}
