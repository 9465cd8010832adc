import DZAgent
import DZDeploy
import DZSpool
import DZSystem
import DZTasks

/// `placement` (queue `build`): chooses the appservers for an app's new instances from the host heartbeats in
/// the spool (see `Placement`). Arguments: `count` (instances, 1 to 32, default 1), optional `max_age_s` (how old a
/// heartbeat may be, default 30), `instances` (object: running instances per appserver id, which the coordinator
/// reads from the zoomdb), `exclude` (appserver ids not to use), `database` (the app's database: `engine`, and for
/// SQLite the file's path `name` and the database host's id `host`: then only appservers of that host whose apps
/// root holds the file are used), `python` (the Python an already built bundle needs, `3.11` or `3.11.4`: only
/// appservers offering that minor are used; when no live one does, kind `python-unavailable`, not retried; see
/// `BundlePython`). Output: `appservers` (ids, one per instance), `candidates` (what each healthy
/// appserver looked like), `unhealthy` (the others and why).
///
/// No healthy appserver is a retryable failure (kind `no-appserver`): agents may be starting. For an SQLite app with
/// no appserver at all that reaches its database the kind is `sqlite-placement`, not retried, with the fix.
public struct PlacementHandler: TaskHandler {
    public let name = "placement"
    public let spool: Spool

    public init(spool: Spool) {
        self.spool = spool
    }

    public func run(_ context: TaskContext) async throws -> [String: JSONValue] {
        let args = try context.arguments(of: PlacementTask.self)
        var excluded = Set(args.exclude)
        let heartbeats = spool.heartbeats()
        if let version = args.python {
            guard let python = BundlePython(version) else {
                throw TaskFailure.badArgs("python must be a version such as 3.11 or 3.11.4")
            }
            let verdict = python.verdict(heartbeats)
            if let refusal = verdict.refusal {
                throw TaskFailure(kind: "python-unavailable", message: refusal, retryable: false)
            }
            excluded.formUnion(verdict.lacking)
        }
        let sqlite = try PlacementHandler.sqliteHome(args.database, heartbeats: heartbeats)
        let placement = Placement(maxAge: args.maxAge ?? 30, instances: args.instances, excluded: excluded,
                                  sqlite: sqlite)
        let ranked = placement.rank(heartbeats)
        let chosen: [Placement.Candidate]
        do { chosen = try placement.choose(args.count, from: heartbeats) } catch {
            // An SQLite app waits for an appserver that reaches its file only if one exists (down for now).
            if let sqlite, !heartbeats.contains(where: { Placement.isAppserver($0) && sqlite.refusal(of: $0) == nil }) {
                throw TaskFailure(kind: "sqlite-placement", message: error.description, retryable: false)
            }
            throw TaskFailure(kind: "no-appserver", message: error.description, retryable: true)
        }
        context.logger.info("placed", metadata: ["appservers": "\(chosen.map(\.id).joined(separator: ","))"])
        return PlacementTask.Output(
            appservers: chosen.map(\.id), candidates: ranked.healthy.map(\.jsonObject),
            unhealthy: ranked.unhealthy.map { ["appserver": .string($0.id), "reason": .string($0.reason)] }).json
    }

    /// The home of the app's database when it is SQLite (nil for PostgreSQL or none). Without a recorded host, the
    /// one database host whose SQLite directory is that apps root, if exactly one publishes it.
    static func sqliteHome(_ database: SQLiteDatabaseLocation?, heartbeats: [Heartbeat]) throws(TaskFailure)
        -> SQLiteHome?
    {
        guard let database, database.engine == AppDatabase.Engine.sqlite.rawValue else { return nil }
        let host = database.host
        if let host, (try? HostID(host)) == nil { throw .badArgs("database.host must be a host id") }
        guard let name = database.name, var home = SQLiteHome(databaseFile: name, host: host) else {
            throw .badArgs("database.name must be the absolute path .../<project>/db.sqlite3 of an SQLite database")
        }
        if home.host == nil {
            let holders = Set(heartbeats.filter { $0.facts[PlacementFacts.sqliteRoot] == home.appsRoot }.map(\.host.rawValue))
            if holders.count == 1 { home.host = holders.first }
        }
        return home
    }
}
