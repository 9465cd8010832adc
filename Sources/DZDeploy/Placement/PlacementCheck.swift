import DZSpool
import DZSystem

/// Whether an app can be placed at all once built, decided before its build: an SQLite app runs only on an
/// appserver of its database's host whose apps root holds the file (see `SQLiteHome`), so a job whose database
/// would be SQLite with no such appserver is refused up front, not after a build of several minutes.
///
/// The engine is the one asked for (the job's `db_engine`, else the app's recorded database's, else the config's
/// `database_type`), else each database host's default (its heartbeat's `db_engine`). PostgreSQL needs nothing
/// here. For SQLite: the recorded database's home, else each live database host's (`sqlite_root`), since any of
/// them may take `create_database`. Pure: the handler reads the heartbeats, this decides.
public struct PlacementCheck: Sendable {
    public var project: String
    /// The engine asked for, if any.
    public var engine: AppDatabase.Engine?
    /// The app's SQLite database as recorded, if it has one.
    public var recorded: SQLiteHome?
    /// Database hosts whose heartbeat is older than this are not counted.
    public var maxAge: Double

    public init(project: String, engine: AppDatabase.Engine?, recorded: SQLiteHome?, maxAge: Double = 30) {
        self.project = project
        self.engine = engine
        self.recorded = recorded
        self.maxAge = maxAge
    }

    /// What the check found.
    public struct Finding: Sendable {
        /// The SQLite homes the app's database may get, each with the appservers that reach it.
        public var homes: [(home: SQLiteHome, appservers: [String])]
        /// The reason to refuse the job, with the fix; nil when it may go on.
        public var problem: String?
    }

    public func check(_ heartbeats: [Heartbeat], now: Timestamp = .now()) -> Finding {
        if engine == .postgresql { return Finding(homes: [], problem: nil) }
        var homes: [SQLiteHome] = []
        if let recorded {
            homes = [recorded]
        } else {
            var seen = Set<String>()
            for beat in heartbeats where now - beat.updated <= maxAge
                && beat.queues.contains(where: { $0.rawValue == "database" }) && !seen.contains(beat.host.rawValue)
            {
                seen.insert(beat.host.rawValue)
                let hostEngine = engine ?? beat.facts[PlacementFacts.databaseEngine].flatMap(AppDatabase.Engine.init)
                // A database host that does not say (an older dz) cannot be judged here; placement still is.
                guard hostEngine == .sqlite, let root = beat.facts[PlacementFacts.sqliteRoot] else { continue }
                homes.append(SQLiteHome(host: beat.host.rawValue, appsRoot: root))
            }
        }
        let appservers = heartbeats.filter { beat in
            beat.queues.contains { $0.rawValue.hasPrefix(Placement.queuePrefix) }
        }
        var found: [(home: SQLiteHome, appservers: [String])] = []
        var problems: [String] = []
        var unreachable: [SQLiteHome] = []
        for home in homes {
            var reaching: [String] = []
            var others: [String] = []
            for beat in appservers {
                let ids = beat.queues.map(\.rawValue).filter { $0.hasPrefix(Placement.queuePrefix) }
                    .map { String($0.dropFirst(Placement.queuePrefix.count)) }
                if let refusal = home.refusal(of: beat) {
                    others += ids.map { "\($0): \(refusal)" }
                } else {
                    reaching += ids
                }
            }
            found.append((home, Array(Set(reaching)).sorted()))
            if reaching.isEmpty {
                unreachable.append(home)
                problems.append("its SQLite database would be in \(home), and no appserver reaches it"
                                + (others.isEmpty ? " (no appserver runs)" : " (" + Array(Set(others)).sorted().joined(separator: "; ") + ")"))
            }
        }
        guard let first = unreachable.first else { return Finding(homes: found, problem: nil) }
        let advice = first.advice(recorded: recorded != nil)
        return Finding(homes: found, problem: "project \(project) cannot be placed: " + problems.joined(separator: "; ")
                                     + ". " + advice.prefix(1).uppercased() + advice.dropFirst())
    }
}
