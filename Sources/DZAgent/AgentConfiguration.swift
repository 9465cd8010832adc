import DZSpool
import DZSystem

/// How an agent serves its queues. Every field has the default `dz agent` documents.
public struct AgentConfiguration: Sendable {
    public var queues: [QueueName]
    /// Tasks run at once.
    public var concurrency: Int = 4
    /// Seconds a claim lives without renewal.
    public var leaseSeconds: Int = 30
    /// Seconds between full rescans (the safety net for files inotify does not see).
    public var rescanInterval: Double = 5
    /// Seconds between heartbeats.
    public var heartbeatInterval: Double = 5
    /// Exit once nothing is due and nothing runs.
    public var drain: Bool = false
    /// Seconds running tasks get to finish after SIGTERM before they are released.
    public var grace: Double = 20
    /// Time limit of a task that sets no `timeout_s`.
    public var taskTimeout: Double = 3600
    /// Seconds after its last write before an unparseable file is bad input.
    public var settle: Double = 10
    /// Seconds of clock skew allowed before another host's lease is judged expired.
    public var skew: Double = 2
    /// Deaths of holders (of this host) that a task may cause before it is set aside as poison.
    public var poisonLimit: Int = Spool.defaultPoisonLimit
    /// Seconds after which a file left in `tmp/` is purged.
    public var temporaryLifetime: Double = 3600
    /// Where to listen for wake-up rings (`--wake-listen`): published in the heartbeat, so that a host that puts a
    /// file into one of these queues rings here and the queue is scanned at once. Empty: no listener (the rescan
    /// alone finds what other hosts drop).
    public var wakeListen: [SocketAddress] = []
    /// How rings become scans.
    public var wakeLimits = WakeThrottle.Limits()
    /// The host-local directory where the agents of this host take turns listening to each queue (`HostTurns`);
    /// nil: this agent watches every queue all the time.
    public var turnDirectory: String?
    /// Seconds all of this agent's workers must have been busy before it hands its turn to another of the host.
    public var turnPatience: Double = 0.05
    /// What the heartbeat tells placement about this agent's roles (see `Heartbeat.facts`).
    public var heartbeatFacts: [String: String] = [:]

    public init(queues: [QueueName]) { self.queues = queues }

    /// Seconds between lease renewals: a third of the lease, at most 5.
    public var renewInterval: Double { min(Double(leaseSeconds) / 3, 5) }
}
