/// How a coordinator runs.
public struct CoordinatorConfiguration: Sendable {
    public var databasePath: String
    /// Seconds between rescans of `results/` and `jobs/` and checks of step deadlines.
    public var rescanInterval: Double = 2
    /// Slack on top of a step's worst case before it is given up (time spent waiting in a queue).
    public var queueWait: Double = 3600
    /// When set, an appserver with instances whose heartbeat is older than this many seconds is recovered: a
    /// `recover` job per project with instances there (see `RecoverJob`). Off by default.
    public var recoverAfter: Double?
    /// Which host names a project may have. The default knows no public suffix but single labels: `dz
    /// coordinator` always reads the public suffix list (see `PublicSuffixList`).
    public var hostnamePolicy = HostnamePolicy()

    public init(databasePath: String) { self.databasePath = databasePath }
}
