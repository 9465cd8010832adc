import DZSpool
import DZStore
import DZSystem

/// Finds appservers that are gone: an appserver running instances (per the zoomdb) whose agent has written no
/// heartbeat for longer than the limit. An appserver never seen since the coordinator started counts from that
/// start, so a coordinator restart does not recover every appserver at once, and an agent restarting (its
/// heartbeat file removed on a clean exit) has the limit to come back.
final class LostAppservers {
    let limit: Double
    private let started: Timestamp
    private var lastSeen: [String: Timestamp] = [:]

    init(limit: Double, now: Timestamp = .now()) {
        self.limit = limit
        started = now
    }

    /// The appservers among `appservers` not heard from for longer than the limit, given the heartbeats now in
    /// the spool.
    func lost(among appservers: Set<String>, heartbeats: [Heartbeat], now: Timestamp = .now()) -> [String] {
        for heartbeat in heartbeats {
            for queue in heartbeat.queues where queue.rawValue.hasPrefix("appserver_") {
                let id = String(queue.rawValue.dropFirst("appserver_".count))
                if heartbeat.updated > (lastSeen[id] ?? Timestamp(nanoseconds: 0)) { lastSeen[id] = heartbeat.updated }
            }
        }
        // A heartbeat older than the start (its agent died before) counts from the start, as no heartbeat does.
        return appservers.sorted().filter { now - max(lastSeen[$0] ?? started, started) > limit }
    }
}
