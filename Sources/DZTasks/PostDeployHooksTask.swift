import DZJSON
import DZSpool

/// `post_deploy_hooks` (queue `appserver_<id>`): a new deploy's one-off commands beside one of its instances
/// (the schema check, migrate, the release command). Planned by `ReleaseSteps.steps`, run by
/// `PostDeployHooksHandler`.
public enum PostDeployHooksTask: TaskContract {
    public static let name = "post_deploy_hooks"

    public struct Arguments: TaskMessage, Equatable {
        public var project: ProjectID
        /// The instance beside which the commands run (its sandbox and environment).
        public var instance: String
        /// Run `migrate` (default true).
        public var migrate: Bool
        /// Run the release command (default true).
        public var release: Bool
        /// First check that the database's schema is not ahead of the bundle's migrations (a rollback's).
        public var checkSchema: Bool
        /// A schema ahead skips migrate and the release command instead of failing.
        public var allowSchemaMismatch: Bool
        /// Seconds each command may take, 1 to 86400 (default 600).
        public var timeout: Double?

        public init(project: ProjectID, instance: String) {
            self.project = project
            self.instance = instance
            migrate = true
            release = true
            checkSchema = false
            allowSchemaMismatch = false
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            project = try read.project()
            instance = try read.instanceID()
            migrate = try read.bool("migrate") ?? true
            release = try read.bool("release") ?? true
            checkSchema = try read.bool("check_schema") ?? false
            allowSchemaMismatch = try read.bool("allow_schema_mismatch") ?? false
            timeout = try read.number("timeout_s")
            if let timeout, !(1...86_400).contains(timeout) {
                throw ContractViolation("timeout_s must be from 1 to 86400")
            }
        }

        public var json: [String: JSONValue] {
            // Every flag written out, so that the task file says what was asked.
            var object: [String: JSONValue] = [
                "project": .string(project.rawValue), "instance": .string(instance), "migrate": .bool(migrate),
                "release": .bool(release), "check_schema": .bool(checkSchema),
                "allow_schema_mismatch": .bool(allowSchemaMismatch),
            ]
            if let timeout { object["timeout_s"] = .double(timeout) }
            return object
        }

        public static let keys = ["project", "instance", "migrate", "release", "check_schema",
                                  "allow_schema_mismatch", "timeout_s"]
    }

    public struct Output: TaskMessage, Equatable {
        public var migrated: Bool
        /// The release command that ran (secrets masked), or nil.
        public var release: String?
        /// Apps whose migrations the database is ahead by (`app.name`); nil without the schema check.
        public var schemaAhead: [String]?
        /// The end of the commands' output, secrets masked.
        public var output: String

        public init(migrated: Bool, release: String?, schemaAhead: [String]?, output: String) {
            self.migrated = migrated
            self.release = release
            self.schemaAhead = schemaAhead
            self.output = output
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            migrated = try read.bool("migrated") ?? false
            release = try read.optionalString("release")
            schemaAhead = try read.array("schema_ahead")?.compactMap(\.stringValue)
            output = try read.optionalString("output") ?? ""
        }

        public var json: [String: JSONValue] {
            ["migrated": .bool(migrated), "release": release.map { .string($0) } ?? .null,
             "schema_ahead": schemaAhead.map { .array($0.map { .string($0) }) } ?? .null, "output": .string(output)]
        }

        public static let keys = ["migrated", "release", "schema_ahead", "output"]
    }
}
