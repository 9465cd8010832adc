import DZJSON
import DZSpool

/// `create_database` (queue `database`): get or create the project's database. Planned by `BuildJob`, run by
/// `CreateDatabaseHandler`.
public enum CreateDatabaseTask: TaskContract {
    public static let name = "create_database"

    public struct Arguments: TaskMessage, Equatable {
        public var project: ProjectID
        /// `postgresql` or `sqlite`; nil: the database host's default.
        public var engine: String?
        /// PostGIS in the database (PostgreSQL only).
        public var postgis: Bool

        public init(project: ProjectID, engine: String? = nil, postgis: Bool = false) {
            self.project = project
            self.engine = engine
            self.postgis = postgis
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            project = try read.project()
            engine = try read.optionalString("engine")
            postgis = try read.bool("postgis") ?? false
        }

        public var json: [String: JSONValue] {
            var object: [String: JSONValue] = ["project": .string(project.rawValue)]
            if let engine { object["engine"] = .string(engine) }
            if postgis { object["postgis"] = .bool(true) }
            return object
        }

        public static let keys = ["project", "engine", "postgis"]
    }

    /// How the app reaches its database. The password is here only (result files are 0600), never in a log.
    public struct Output: TaskMessage, Equatable {
        public var engine: String
        public var host: String?
        public var port: Int?
        /// The database's name (PostgreSQL) or file (SQLite).
        public var name: String
        public var user: String?
        public var password: String?
        public var justCreated: Bool
        public var passwordReset: Bool
        public var postgis: Bool

        public init(engine: String, host: String?, port: Int?, name: String, user: String?, password: String?,
                    justCreated: Bool, passwordReset: Bool, postgis: Bool) {
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

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            engine = try read.string("engine")
            host = try read.optionalString("host")
            port = try read.count("port", in: 1...65535)
            name = try read.string("name")
            user = try read.optionalString("user")
            password = try read.optionalString("password")
            justCreated = try read.bool("just_created") ?? false
            passwordReset = try read.bool("password_reset") ?? false
            postgis = try read.bool("postgis") ?? false
        }

        public var json: [String: JSONValue] {
            [
                "engine": .string(engine), "host": host.map { .string($0) } ?? .null,
                "port": port.map { .int(Int64($0)) } ?? .null, "name": .string(name),
                "user": user.map { .string($0) } ?? .null, "password": password.map { .string($0) } ?? .null,
                "just_created": .bool(justCreated), "password_reset": .bool(passwordReset), "postgis": .bool(postgis),
            ]
        }

        public static let keys = ["engine", "host", "port", "name", "user", "password", "just_created",
                                  "password_reset", "postgis"]
    }
}
