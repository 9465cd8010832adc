/// How a coordinator runs.
public struct CoordinatorConfiguration: Sendable {
    public var databasePath: String
    /// Whether the zoomdb may lie on a network or FUSE file system (`--allow-network-db`): off, since SQLite's
    /// write-ahead log does not work there.
    public var allowNetworkDatabase = false
    /// Whether `databasePath` is the default one: then a zoomdb an earlier dz kept in the spool
    /// (`<spool>/zoomdb/zoomdb.sqlite3`) is moved there at start, when there is none yet.
    public var adoptsLegacyDatabase = false
    /// Seconds between rescans of `results/` and `jobs/` and checks of step deadlines.
    public var rescanInterval: Double = 2
    /// Slack on top of a step's worst case before it is given up (time spent waiting in a queue).
    public var queueWait: Double = 3600
    /// When set, an appserver with instances whose heartbeat is older than this many seconds is recovered: a
    /// `recover` job per project with instances there (see `RecoverJob`). Off by default.
    public var recoverAfter: Double?

    public init(databasePath: String) { self.databasePath = databasePath }
}
