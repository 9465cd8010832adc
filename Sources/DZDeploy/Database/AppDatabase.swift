import DZSource
import DZSpool
import DZTasks

/// An app's database as `create_database` returns it: where it is and how the app logs in.
///
/// The password travels in the task's output only (the result file is 0600) and from there to the deploy task;
/// `description` leaves it out, so logging an `AppDatabase` never leaks it.
public struct AppDatabase: Sendable, Equatable, CustomStringConvertible {
    public typealias Engine = DatabaseEngine

    public var engine: Engine
    /// The host and port the app connects to; nil for SQLite.
    public var host: String?
    public var port: Int?
    /// The database name (PostgreSQL) or the database file's absolute path (SQLite).
    public var name: String
    /// The role the app logs in as and its password; nil for SQLite.
    public var user: String?
    public var password: String?
    /// True when this run made the database; false when it was already there.
    public var justCreated: Bool
    /// True when the role existed but its password file was gone, so the password was replaced.
    public var passwordReset: Bool
    /// True when PostGIS is enabled in the database (PostgreSQL, when asked for).
    public var postgis: Bool

    public init(engine: Engine, host: String? = nil, port: Int? = nil, name: String, user: String? = nil,
                password: String? = nil, justCreated: Bool, passwordReset: Bool = false, postgis: Bool = false)
    {
        self.engine = engine
        self.host = host
        self.port = port
        self.name = name
        self.user = user
        self.password = password
        self.justCreated = justCreated
        self.passwordReset = passwordReset
        self.postgis = postgis
    }

    /// The task output: `engine`, `host`, `port`, `name`, `user`, `password`, `just_created`, `password_reset`,
    /// `postgis` (absent values as JSON null).
    public var output: [String: JSONValue] {
        CreateDatabaseTask.Output(engine: engine.rawValue, host: host, port: port, name: name, user: user,
                                  password: password, justCreated: justCreated, passwordReset: passwordReset,
                                  postgis: postgis).json
    }

    /// Everything but the password, for logs.
    public var description: String {
        var parts = ["engine=\(engine.rawValue)", "name=\(name)"]
        if let host { parts.append("host=\(host)") }
        if let port { parts.append("port=\(port)") }
        if let user { parts.append("user=\(user)") }
        parts.append("just_created=\(justCreated)")
        if passwordReset { parts.append("password_reset=true") }
        if postgis { parts.append("postgis=true") }
        return parts.joined(separator: " ")
    }
}
