import DZJSON
import DZSpool

/// `drop_database` (queue `database`, undeploy with `--drop-data`): drop the project's database. Planned by
/// `UndeployJob`, run by `DropDatabaseHandler`.
public enum DropDatabaseTask: TaskContract {
    public static let name = "drop_database"

    public struct Arguments: TaskMessage, Equatable {
        public var project: ProjectID
        /// `postgresql` or `sqlite`; nil: the database host's default.
        public var engine: String?

        public init(project: ProjectID, engine: String? = nil) {
            self.project = project
            self.engine = engine
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            project = try read.project()
            engine = try read.optionalString("engine")
        }

        public var json: [String: JSONValue] {
            var object: [String: JSONValue] = ["project": .string(project.rawValue)]
            if let engine { object["engine"] = .string(engine) }
            return object
        }

        public static let keys = ["project", "engine"]
    }

    public struct Output: TaskMessage, Equatable {
        /// The engine and the database (or file) dropped; nil from a handler that did not say.
        public var engine: String?
        public var name: String?
        /// False when there was nothing to drop.
        public var dropped: Bool

        public init(engine: String?, name: String?, dropped: Bool) {
            self.engine = engine
            self.name = name
            self.dropped = dropped
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            engine = try read.optionalString("engine")
            name = try read.optionalString("name")
            dropped = try read.bool("dropped") ?? false
        }

        public var json: [String: JSONValue] {
            ["engine": engine.map { .string($0) } ?? .null, "name": name.map { .string($0) } ?? .null,
             "dropped": .bool(dropped)]
        }

        public static let keys = ["engine", "name", "dropped"]
    }
}
