import DZJSON
import DZSpool

/// `check_placement` (queue `build`): refuse, before the build, a deploy that could not be placed once built (an
/// SQLite app no appserver reaches, a Python or a database engine no host offers). Planned by
/// `CheckPlacementStep`, run by `CheckPlacementHandler`.
public enum CheckPlacementTask: TaskContract {
    public static let name = "check_placement"

    public struct Arguments: TaskMessage, Equatable {
        public var project: ProjectID
        /// `postgresql` or `sqlite` (the job's `db_engine`, else the recorded database's); nil: the config's
        /// `database_type`, else each database host's default.
        public var engine: String?
        /// The text of the project's zoombuild.cfg.
        public var zoombuildConfig: String?
        /// The app's recorded database.
        public var database: SQLiteDatabaseLocation?

        public init(project: ProjectID) {
            self.project = project
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            project = try read.project()
            engine = try read.optionalString("engine")
            zoombuildConfig = try read.optionalString("zoombuild_cfg")
            switch read.value("database") {
            case nil: database = nil
            case .object(let fields)?: database = try SQLiteDatabaseLocation(json: fields)
            case .some: throw ContractViolation("database must be an object with an engine")
            }
        }

        public var json: [String: JSONValue] {
            var object: [String: JSONValue] = ["project": .string(project.rawValue)]
            if let engine { object["engine"] = .string(engine) }
            if let zoombuildConfig { object["zoombuild_cfg"] = .string(zoombuildConfig) }
            if let database { object["database"] = .object(database.json) }
            return object
        }

        public static let keys = ["project", "engine", "zoombuild_cfg", "database"]
    }

    public struct Output: TaskMessage, Equatable {
        /// The Python minor version the build is to use; nil: the build host's newest fitting one.
        public var python: String?
        /// The engine the build and create_database are to use; nil: each database host's default.
        public var engine: String?
        /// Each possible home of an SQLite database (`apps_root`, `appservers`, `host`).
        public var sqlite: [[String: JSONValue]]

        public init(python: String?, engine: String?, sqlite: [[String: JSONValue]]) {
            self.python = python
            self.engine = engine
            self.sqlite = sqlite
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            python = try read.optionalString("python")
            engine = try read.optionalString("engine")
            sqlite = (try read.array("sqlite") ?? []).compactMap(\.objectValue)
        }

        public var json: [String: JSONValue] {
            ["python": python.map { .string($0) } ?? .null, "engine": engine.map { .string($0) } ?? .null,
             "sqlite": .array(sqlite.map { .object($0) })]
        }

        public static let keys = ["python", "engine", "sqlite"]
    }
}
