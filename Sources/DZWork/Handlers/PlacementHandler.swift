import DZAgent
import DZSpool
import DZSystem

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
        let count = try context.number("count", default: 1)
        guard count == count.rounded(), (1...32).contains(count) else {
            throw TaskFailure.badArgs("count must be a whole number from 1 to 32")
        }
        let maxAge = try context.number("max_age_s", default: 30)
        guard maxAge > 0 else { throw TaskFailure.badArgs("max_age_s must be positive") }
        var instances: [String: Int] = [:]
        switch context.args["instances"] {
        case nil, .null?: break
        case .object(let object)?:
            for (id, value) in object {
                guard let number = value.intValue, number >= 0 else {
                    throw TaskFailure.badArgs("instances must map appserver ids to counts")
                }
                instances[id] = Int(number)
            }
        case let other?: throw TaskFailure.badArgs("instances must be an object, not \(other.typeName)")
        }
        var excluded = Set<String>()
        switch context.args["exclude"] {
        case nil, .null?: break
        case .array(let items)?:
            for item in items {
                guard let id = item.stringValue else { throw TaskFailure.badArgs("exclude must list appserver ids") }
                excluded.insert(id)
            }
        case let other?: throw TaskFailure.badArgs("exclude must be an array, not \(other.typeName)")
        }

        let heartbeats = spool.heartbeats()
        if let version = try context.optionalString("python") {
            guard let python = BundlePython(version) else {
                throw TaskFailure.badArgs("python must be a version such as 3.11 or 3.11.4")
            }
            let verdict = python.verdict(heartbeats)
            if let refusal = verdict.refusal {
                throw TaskFailure(kind: "python-unavailable", message: refusal, retryable: false)
            }
            excluded.formUnion(verdict.lacking)
        }
        let sqlite = try PlacementHandler.sqliteHome(context.args["database"], heartbeats: heartbeats)
        let placement = Placement(maxAge: maxAge, instances: instances, excluded: excluded, sqlite: sqlite)
        let ranked = placement.rank(heartbeats)
        let chosen: [Placement.Candidate]
        do { chosen = try placement.choose(Int(count), from: heartbeats) } catch {
            // An SQLite app waits for an appserver that reaches its file only if one exists (down for now).
            if let sqlite, !heartbeats.contains(where: { PlacementHandler.isAppserver($0) && sqlite.refusal(of: $0) == nil }) {
                throw TaskFailure(kind: "sqlite-placement", message: error.description, retryable: false)
            }
            throw TaskFailure(kind: "no-appserver", message: error.description, retryable: true)
        }
        context.logger.info("placed", metadata: ["appservers": "\(chosen.map(\.id).joined(separator: ","))"])
        return [
            "appservers": .array(chosen.map { .string($0.id) }),
            "candidates": .array(ranked.healthy.map { .object($0.jsonObject) }),
            "unhealthy": .array(ranked.unhealthy.map { .object(["appserver": .string($0.id), "reason": .string($0.reason)]) }),
        ]
    }

    static func isAppserver(_ heartbeat: Heartbeat) -> Bool {
        heartbeat.queues.contains { $0.rawValue.hasPrefix(Placement.queuePrefix) }
    }

    /// The home of the app's database when it is SQLite (nil for PostgreSQL or none). Without a recorded host, the
    /// one database host whose SQLite directory is that apps root, if exactly one publishes it.
    static func sqliteHome(_ value: JSONValue?, heartbeats: [Heartbeat]) throws(TaskFailure) -> SQLiteHome? {
        guard let value, value != .null else { return nil }
        guard let object = value.objectValue, let engine = object["engine"]?.stringValue else {
            throw .badArgs("database must be an object with an engine")
        }
        guard engine == AppDatabase.Engine.sqlite.rawValue else { return nil }
        var host: String?
        switch object["host"] {
        case nil, .null?: break
        case .string(let text)?:
            guard (try? HostID(text)) != nil else { throw .badArgs("database.host must be a host id") }
            host = text
        case let other?: throw .badArgs("database.host must be a string, not \(other.typeName)")
        }
        guard let name = object["name"]?.stringValue, var home = SQLiteHome(databaseFile: name, host: host) else {
            throw .badArgs("database.name must be the absolute path .../<project>/db.sqlite3 of an SQLite database")
        }
        if home.host == nil {
            let holders = Set(heartbeats.filter { $0.facts[PlacementFacts.sqliteRoot] == home.appsRoot }.map(\.host.rawValue))
            if holders.count == 1 { home.host = holders.first }
        }
        return home
    }
}
