import DZAgent
import DZSpool

/// `create_database` (queue `database`): gets or creates the project's database and returns how the app reaches
/// it (`AppDatabase.output`: engine, host, port, name, user, password, just_created, password_reset, postgis).
/// Arguments: `project`; optional `engine` (`postgresql` or `sqlite`, default from the host's
/// `DatabaseSettings`) and `postgis` (boolean, PostgreSQL only).
///
/// The password is in the output only (the result file is 0600), never in a log line or an error message.
public struct CreateDatabaseHandler: TaskHandler {
    public let name = "create_database"
    public let workspace: Workspace
    public let settings: DatabaseSettings

    public init(workspace: Workspace, settings: DatabaseSettings = DatabaseSettings()) {
        self.workspace = workspace
        self.settings = settings
    }

    public func run(_ context: TaskContext) async throws -> [String: JSONValue] {
        let project = try DatabaseArguments.project(context)
        let engine = try DatabaseArguments.engine(context, default: settings.defaultEngine)
        let postgis = try DatabaseArguments.flag(context, "postgis")
        if postgis, engine != .postgresql { throw TaskFailure.badArgs("postgis needs engine postgresql") }
        context.logger.info("creating database", metadata: ["project": "\(project)", "engine": "\(engine.rawValue)",
                                                            "postgis": "\(postgis)"])
        let database: AppDatabase
        do {
            switch engine {
            case .sqlite:
                database = try SQLiteProvisioner(workspace: workspace).create(project)
            case .postgresql:
                guard let server = settings.postgres else { throw DatabaseError.postgresNotConfigured }
                database = try await PostgresProvisioner(server: server, workspace: workspace)
                    .create(project, postgis: postgis, logger: context.logger)
            }
        } catch let error as DatabaseError {
            throw error.taskFailure
        }
        context.logger.info("database ready", metadata: ["database": "\(database)"])
        return database.output
    }
}

/// The arguments `create_database` and `drop_database` share, checked before anything else happens.
enum DatabaseArguments {
    static func project(_ context: TaskContext) throws -> ProjectID { try context.project() }

    static func engine(_ context: TaskContext, default engine: AppDatabase.Engine) throws -> AppDatabase.Engine {
        guard let text = try context.optionalString("engine") else { return engine }
        guard let named = AppDatabase.Engine(rawValue: text) else {
            throw TaskFailure.badArgs("engine must be postgresql or sqlite, not \"\(text.prefix(40))\"")
        }
        return named
    }

    /// A boolean argument, false when absent.
    static func flag(_ context: TaskContext, _ key: String) throws(TaskFailure) -> Bool {
        switch context.args[key] {
        case nil, .null?: false
        case .bool(let value)?: value
        case let other?: throw .badArgs("argument \"\(key)\" must be a boolean, not \(other.typeName)")
        }
    }
}
