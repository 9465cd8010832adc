import DZSpool
import DZSystem

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
    /// Where to listen for wake-up rings of `results` and `jobs` (`--wake-listen`), published in
    /// `coordinator.lease`. Empty: no listener (the rescan finds what other hosts deliver).
    public var wakeListen: [SocketAddress] = []
    public var wakeLimits = WakeThrottle.Limits()
    /// Which host names a project may have. The default knows no public suffix but single labels: `dz
    /// coordinator` always reads the public suffix list (see `PublicSuffixList`).
    public var hostnamePolicy = HostnamePolicy()

    /// Why an app may not be given these environment variables (names dz sets itself, or the loader reads), or
    /// nil: the deploy's own rule, given by the executable that links the deploy code. Without it, only the form
    /// is checked (`ConfigChange.problem`) and the deploy refuses what it may not set.
    public var environmentCheck: (@Sendable ([String: String]) -> String?)?

    public init(databasePath: String) { self.databasePath = databasePath }
}
