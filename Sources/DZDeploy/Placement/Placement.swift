import DZSpool
import DZSystem

/// Chooses appservers for an app's instances from the agents' heartbeats: an appserver is an agent serving an
/// `appserver_<id>` queue; it is healthy while its heartbeat is fresh. Among healthy ones the least loaded come
/// first: fewest running instances, then lowest one-minute load average, then most free memory, then id (so that
/// equal hosts are chosen the same way every time). An SQLite app (`sqlite`) is placed only on appservers of its
/// database's host whose apps root holds the file. Pure: the handler reads the heartbeats, this decides.
public struct Placement: Sendable {
    /// One appserver as placement saw it.
    public struct Candidate: Sendable, Equatable {
        public var id: String
        public var host: String
        public var instances: Int
        public var load: Double
        public var memoryAvailable: UInt64
        public var age: Double

        public var jsonObject: [String: JSONValue] {
            ["appserver": .string(id), "host": .string(host), "instances": .int(Int64(instances)),
             "load": .double(load), "memory_available": .int(Int64(min(memoryAvailable, UInt64(Int64.max)))),
             "heartbeat_age_s": .double((age * 10).rounded() / 10)]
        }
    }

    /// A heartbeat older than this (seconds) means the appserver is down.
    public var maxAge: Double
    /// Running instances per appserver id (from the zoomdb).
    public var instances: [String: Int]
    /// Appservers not to use (a host being recovered).
    public var excluded: Set<String>
    /// Where the app's SQLite database is, for an SQLite app: only appservers that reach it are used.
    public var sqlite: SQLiteHome?

    public init(maxAge: Double = 30, instances: [String: Int] = [:], excluded: Set<String> = [],
                sqlite: SQLiteHome? = nil)
    {
        self.maxAge = maxAge
        self.instances = instances
        self.excluded = excluded
        self.sqlite = sqlite
    }

    /// The healthy appservers, best first, and the ones left out with the reason.
    public func rank(_ heartbeats: [Heartbeat], now: Timestamp = .now())
        -> (healthy: [Candidate], unhealthy: [(id: String, reason: String)])
    {
        var newest: [String: (Heartbeat, String)] = [:]
        for heartbeat in heartbeats {
            for queue in heartbeat.queues where queue.rawValue.hasPrefix(Placement.queuePrefix) {
                let id = String(queue.rawValue.dropFirst(Placement.queuePrefix.count))
                guard !id.isEmpty else { continue }
                if let seen = newest[id], seen.0.updated >= heartbeat.updated { continue }
                newest[id] = (heartbeat, id)
            }
        }
        var healthy: [Candidate] = []
        var unhealthy: [(id: String, reason: String)] = []
        for (id, (heartbeat, _)) in newest.sorted(by: { $0.key < $1.key }) {
            let age = now - heartbeat.updated
            if excluded.contains(id) {
                unhealthy.append((id, "excluded"))
            } else if let refusal = sqlite?.refusal(of: heartbeat) {
                unhealthy.append((id, refusal))
            } else if age > maxAge {
                unhealthy.append((id, "heartbeat \(Int(age)) s old (host \(heartbeat.host))"))
            } else {
                healthy.append(Candidate(id: id, host: heartbeat.host.rawValue, instances: instances[id] ?? 0,
                                         load: heartbeat.loadAverage.first ?? 0,
                                         memoryAvailable: heartbeat.memoryAvailable ?? 0, age: max(0, age)))
            }
        }
        healthy.sort { a, b in
            if a.instances != b.instances { return a.instances < b.instances }
            if abs(a.load - b.load) >= 0.25 { return a.load < b.load }
            if a.memoryAvailable != b.memoryAvailable { return a.memoryAvailable > b.memoryAvailable }
            return a.id < b.id
        }
        return (healthy, unhealthy)
    }

    /// `count` appservers: distinct ones while there are enough, then round again over the best.
    public func choose(_ count: Int, from heartbeats: [Heartbeat], now: Timestamp = .now())
        throws(PlacementError) -> [Candidate]
    {
        let ranked = rank(heartbeats, now: now)
        guard !ranked.healthy.isEmpty else {
            throw PlacementError(unhealthy: ranked.unhealthy.map { "\($0.id): \($0.reason)" }, sqlite: sqlite)
        }
        return (0..<max(1, count)).map { ranked.healthy[$0 % ranked.healthy.count] }
    }

    /// Queues of appservers are `appserver_<id>`.
    public static let queuePrefix = "appserver_"

    /// Whether the host that sent `heartbeat` is an appserver (serves an `appserver_<id>` queue).
    package static func isAppserver(_ heartbeat: Heartbeat) -> Bool {
        heartbeat.queues.contains { $0.rawValue.hasPrefix(queuePrefix) }
    }
}

/// No appserver is healthy (or, for an SQLite app, none that reaches its database).
public struct PlacementError: Error, Sendable, CustomStringConvertible {
    public var unhealthy: [String]
    /// The SQLite app's database, when that is what ruled appservers out.
    public var sqlite: SQLiteHome?

    public init(unhealthy: [String], sqlite: SQLiteHome? = nil) {
        self.unhealthy = unhealthy
        self.sqlite = sqlite
    }

    public var description: String {
        if let sqlite {
            return "no healthy appserver reaches the app's SQLite database in \(sqlite)"
                + (unhealthy.isEmpty ? "" : " (" + unhealthy.joined(separator: "; ") + ")") + ": "
                + sqlite.advice(recorded: true)
        }
        return unhealthy.isEmpty
            ? "no appserver is running: start an agent serving an appserver_<id> queue"
            : "no healthy appserver: " + unhealthy.joined(separator: "; ")
    }
}
