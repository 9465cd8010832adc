import DZSystem

/// One agent as `dz hosts` shows it: its last heartbeat, how old that is, and the app instances its appserver
/// queues run (from the zoomdb, when there is one).
public struct HostSummary: Sendable, Equatable {
    public var heartbeat: Heartbeat
    /// Seconds since the heartbeat was written.
    public var age: Double
    /// True when the heartbeat is older than the limit given: the agent is down (or its host unreachable).
    public var isStale: Bool
    /// The appserver ids this agent serves (`appserver_<id>` queues).
    public var appservers: [String]
    /// Active instances on those appservers; nil when unknown (no zoomdb).
    public var instances: Int?

    /// One summary per heartbeat file, freshest first. `instances` maps appserver ids to active instances.
    public static func summaries(_ heartbeats: [Heartbeat], instances: [String: Int]?, now: Timestamp = .now(),
                                 maxAge: Double = 30) -> [HostSummary]
    {
        heartbeats.sorted { $0.updated > $1.updated }.map { beat in
            let appservers = beat.queues.map(\.rawValue).filter { $0.hasPrefix("appserver_") }
                .map { String($0.dropFirst("appserver_".count)) }
            let age = max(0, now - beat.updated)
            return HostSummary(heartbeat: beat, age: age, isStale: age > maxAge, appservers: appservers,
                               instances: instances.map { counts in appservers.reduce(0) { $0 + (counts[$1] ?? 0) } })
        }
    }

    /// How long the agent had been running when it wrote the heartbeat (its `started` to its `updated`), not the
    /// machine's uptime, which the heartbeat's `uptime_s` is.
    public var agentUptime: Double { max(0, heartbeat.updated - heartbeat.started) }

    public var jsonObject: [String: JSONValue] {
        var object = heartbeat.jsonObject
        object["agent_uptime_s"] = .double((agentUptime * 10).rounded() / 10)
        object["heartbeat_age_s"] = .double((age * 10).rounded() / 10)
        object["state"] = .string(isStale ? "stale" : "up")
        object["appservers"] = .array(appservers.map { .string($0) })
        object["instances"] = instances.map { .int(Int64($0)) } ?? .null
        return object
    }
}
