import DZSystem
import Foundation

/// How the database host makes apps' databases: the engine used when a task names none, and the PostgreSQL
/// server, if this host has one.
///
/// `dz agent` builds it from its flags, each falling back to an environment variable:
///
/// | flag | variable | default |
/// |---|---|---|
/// | `--db-engine` | `DZ_DB_ENGINE` | `postgresql` if a server is configured, else `sqlite` |
/// | `--pg-admin-host` | `DZ_PG_ADMIN_HOST` | none: no PostgreSQL on this host |
/// | `--pg-admin-port` | `DZ_PG_ADMIN_PORT` | 5432 |
/// | `--pg-admin-user` | `DZ_PG_ADMIN_USER` | `postgres` |
/// | `--pg-admin-passfile` | `DZ_PG_ADMIN_PASSFILE` | none (psql's `~/.pgpass`, or no password) |
/// | `--pg-app-host` | `DZ_PG_APP_HOST` | the admin host (127.0.0.1 if that is a socket directory) |
/// | `--pg-app-port` | `DZ_PG_APP_PORT` | the admin port |
public struct DatabaseSettings: Sendable, Equatable {
    /// The engine of a `create_database` or `drop_database` task that names none.
    public var defaultEngine: AppDatabase.Engine
    /// The PostgreSQL server; nil when this host has none.
    public var postgres: PostgresServer?

    /// SQLite only: the embedded default.
    public init(defaultEngine: AppDatabase.Engine? = nil, postgres: PostgresServer? = nil) {
        self.defaultEngine = defaultEngine ?? (postgres == nil ? .sqlite : .postgresql)
        self.postgres = postgres
    }

    /// The settings from `dz agent`'s flags (nil where not given), each falling back to its environment variable.
    /// Checks what can be checked before any task runs: the engine's name, the port, and that the passfile exists
    /// and is not readable by group or others (psql would ignore it with only a warning).
    public static func resolve(
        engine: String? = nil, adminHost: String? = nil, adminPort: String? = nil, adminUser: String? = nil,
        adminPassfile: String? = nil, appHost: String? = nil, appPort: String? = nil,
        environment: [String: String]
    ) throws(DatabaseError) -> DatabaseSettings {
        func value(_ flag: String?, _ variable: String) -> String? {
            if let flag, !flag.isEmpty { return flag }
            if let fromEnvironment = environment[variable], !fromEnvironment.isEmpty { return fromEnvironment }
            return nil
        }
        var server: PostgresServer?
        if let host = value(adminHost, "DZ_PG_ADMIN_HOST") {
            let port = try parsePort(value(adminPort, "DZ_PG_ADMIN_PORT") ?? "5432", "--pg-admin-port")
            let user = value(adminUser, "DZ_PG_ADMIN_USER") ?? "postgres"
            let passfile = value(adminPassfile, "DZ_PG_ADMIN_PASSFILE")
            if let passfile { try checkPassfile(passfile) }
            var publicPort: Int?
            if let text = value(appPort, "DZ_PG_APP_PORT") { publicPort = try parsePort(text, "--pg-app-port") }
            server = PostgresServer(adminHost: host, adminPort: port, adminUser: user, adminPassfile: passfile,
                                    appHost: value(appHost, "DZ_PG_APP_HOST"), appPort: publicPort)
        } else {
            for (flag, variable, given) in [("--pg-admin-port", "DZ_PG_ADMIN_PORT", adminPort),
                                            ("--pg-admin-user", "DZ_PG_ADMIN_USER", adminUser),
                                            ("--pg-admin-passfile", "DZ_PG_ADMIN_PASSFILE", adminPassfile),
                                            ("--pg-app-host", "DZ_PG_APP_HOST", appHost),
                                            ("--pg-app-port", "DZ_PG_APP_PORT", appPort)]
                where given != nil && given?.isEmpty == false
            {
                throw .badSettings("\(flag) (\(variable)) needs --pg-admin-host")
            }
        }
        var chosen: AppDatabase.Engine?
        if let name = value(engine, "DZ_DB_ENGINE") {
            guard let known = AppDatabase.Engine(rawValue: name) else {
                throw .badSettings("--db-engine must be postgresql or sqlite, not \"\(name.prefix(40))\"")
            }
            if known == .postgresql, server == nil {
                throw .badSettings("--db-engine postgresql needs --pg-admin-host")
            }
            chosen = known
        }
        return DatabaseSettings(defaultEngine: chosen, postgres: server)
    }

    private static func parsePort(_ text: String, _ flag: String) throws(DatabaseError) -> Int {
        guard let port = Int(text), (1...65535).contains(port) else {
            throw .badSettings("\(flag) must be a port number from 1 to 65535, not \"\(text.prefix(20))\"")
        }
        return port
    }

    /// The passfile must be a regular file that neither group nor others can read or write.
    static func checkPassfile(_ path: String) throws(DatabaseError) {
        let status: FileStatus
        do { status = try FileSystem.status(path) } catch { throw .filesystem(path, error) }
        guard status.isRegular else { throw .badSettings("--pg-admin-passfile \(path) is not a regular file") }
        let mode = (try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? 0o777
        guard mode & 0o077 == 0 else {
            throw .badSettings("--pg-admin-passfile \(path) has mode \(String(mode, radix: 8)): "
                + "make it 0600 (chmod 600), or psql ignores it")
        }
    }
}
