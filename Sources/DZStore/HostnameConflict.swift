/// Why a project cannot have a host name: another project has it, or a name that overlaps it (one covers the
/// other through a wildcard), either live (`held`) or being put live by a running job (`claimed`).
public struct HostnameConflict: Error, Equatable, Sendable, CustomStringConvertible {
    public var hostname: String
    /// The other project's name that overlaps (equal to `hostname`, or its wildcard, or a name under it).
    public var other: String
    public var owner: String
    /// The running job that claimed `other`, when it is not live yet.
    public var job: String?

    public init(hostname: String, other: String, owner: String, job: String?) {
        self.hostname = hostname
        self.other = other
        self.owner = owner
        self.job = job
    }

    public var description: String {
        let what = other == hostname ? "it" : other
        let how = job.map { "is being put live by job \($0) of project \(owner)" } ?? "belongs to project \(owner)"
        let fix = job == nil ? ": remove it there first" : ""
        return "host name \(hostname) is taken: \(what) \(how)\(fix)"
    }
}
