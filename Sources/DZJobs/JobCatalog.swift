/// The job kinds a coordinator knows, by name.
public struct JobCatalog: Sendable {
    private var kinds: [String: JobKind] = [:]

    public init(_ kinds: [JobKind]) {
        for kind in kinds { self.kinds[kind.name] = kind }
    }

    /// Every kind dz ships.
    public static let standard = JobCatalog([SelftestJob.kind, CheckRepoJob.kind, BuildJob.kind, BuildAndDeployJob.kind,
                                             UndeployJob.kind, DeleteVersionsJob.kind, RollbackJob.kind,
                                             ConfigJob.kind, HostnamesJob.kind, ScaleJob.kind, RecoverJob.kind,
                                             LogsJob.kind, ManageJob.kind])

    public func kind(_ name: String) -> JobKind? { kinds[name] }
    public var names: [String] { kinds.keys.sorted() }
}
