import DZSpool
import DZSystem

/// Whether a database engine the project demands (an explicit `database_type` in its zoombuild.cfg, PostGIS, the
/// job's `--db-engine`, or the engine of the database the app already has) can be provided, decided before the
/// build. An engine only hinted at (a driver in a requirements file) is no demand: the proposal leaves it out and
/// the database hosts' default decides. A database host tells what it can provide in its heartbeat
/// (`db_engines`); hosts of a dz that does not say are not judged. Pure: the handler reads the heartbeats.
public struct DatabaseDemand: Sendable {
    public var engine: AppDatabase.Engine
    public var postgis: Bool
    /// Where the demand comes from, for the message: `database_type postgresql in zoombuild.cfg`.
    public var basis: String
    /// Database hosts whose heartbeat is older than this are not counted.
    public var maxAge: Double = 30

    public init(engine: AppDatabase.Engine, postgis: Bool, basis: String) {
        self.engine = engine
        self.postgis = postgis
        self.basis = basis
    }

    /// The reason to refuse the job, naming both ways out; nil when a database host provides the engine or none
    /// says.
    public func problem(_ heartbeats: [Heartbeat], now: Timestamp = .now()) -> String? {
        var seen = Set<String>()
        var judged: [(host: String, engines: [String])] = []
        for beat in heartbeats where now - beat.updated <= maxAge && seen.insert(beat.host.rawValue).inserted
            && beat.queues.contains(where: { $0.rawValue == "database" })
        {
            guard let text = beat.facts[PlacementFacts.databaseEngines] else { continue }
            judged.append((beat.host.rawValue, text.split(separator: ",").map(String.init)))
        }
        guard !judged.isEmpty, !judged.contains(where: { $0.engines.contains(engine.rawValue) }) else { return nil }
        let name = postgis ? "PostGIS" : engine == .postgresql ? "PostgreSQL" : "SQLite"
        let hosts = judged.map { "\($0.host): \($0.engines.joined(separator: ", "))" }.joined(separator: "; ")
        var fixes: [String] = []
        if !postgis { fixes.append("deploy with --db-engine sqlite or remove database_type from zoombuild.cfg") }
        if engine == .postgresql {
            fixes.append("give a database host a PostgreSQL server" + (postgis ? " with PostGIS" : "")
                         + " (dz agent --pg-admin-host HOST)")
        }
        return "the project demands \(name) (\(basis)) and no database host provides it (\(hosts)): "
            + fixes.joined(separator: ", or ")
    }
}
