import DZSpool
import DZSystem

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
    /// Where to listen for wake-up rings of `results` and `jobs` (`--wake-listen`), published in
    /// `coordinator.lease`. Empty: no listener (the rescan finds what other hosts deliver).
    public var wakeListen: [SocketAddress] = []
    public var wakeLimits = WakeThrottle.Limits()

    public init(databasePath: String) { self.databasePath = databasePath }
}
