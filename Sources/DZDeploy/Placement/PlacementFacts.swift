import DZBuild
import DZSpool
import DZSystem

/// What an agent's heartbeat tells placement about its roles (`Heartbeat.facts`): an appserver's apps root, a
/// database host's default engine and the directory of its SQLite files. Paths are canonical (symbolic links
/// resolved as far as the path exists), as `create_database` records an SQLite file's path.
public enum PlacementFacts {
    /// An appserver's apps root.
    public static let appsRoot = "apps_root"
    /// A database host's engine when a job names none (`postgresql` or `sqlite`).
    public static let databaseEngine = "db_engine"
    /// A database host's directory of SQLite databases (`<data>/apps`).
    public static let sqliteRoot = "sqlite_root"
    /// A database host's engines, comma-separated: `sqlite`, or `sqlite,postgresql` with a PostgreSQL server.
    public static let databaseEngines = "db_engines"
    /// A build host's or an appserver's Python versions (`AllowedPythons`), comma-separated: `3.11,3.12`.
    public static let pythons = "pythons"

    /// The facts of an agent with these roles: `appServer` when it serves an `appserver_<id>` queue, `database`
    /// when it serves `database`.
    public static func of(appServer: AppServerSettings?, database: DatabaseSettings?, workspace: Workspace,
                          pythons offered: AllowedPythons? = nil) -> [String: String]
    {
        var facts: [String: String] = [:]
        if let offered { facts[pythons] = offered.versions.joined(separator: ",") }
        if let appServer { facts[appsRoot] = canonical(appServer.appsRoot) }
        if let database {
            facts[databaseEngine] = database.defaultEngine.rawValue
            facts[databaseEngines] = database.postgres == nil ? "sqlite" : "sqlite,postgresql"
            facts[sqliteRoot] = canonical(AppServerSettings(workspace: workspace).appsRoot)
        }
        return facts
    }

    /// `path` with its symbolic links resolved, as far as it exists.
    static func canonical(_ path: String) -> String {
        if let resolved = try? FileSystem.resolve(path) { return resolved }
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return path }
        let parent = canonical(String(path[..<slash]))
        return (parent == "/" ? "" : parent) + path[slash...]
    }
}
