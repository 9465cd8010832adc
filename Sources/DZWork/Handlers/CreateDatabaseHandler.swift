import DZAgent
import DZBuild
import DZDeploy
import DZSpool
import DZTasks

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
        let args = try context.arguments(of: CreateDatabaseTask.self)
        let project = args.project
        let engine = try DatabaseArguments.engine(args.engine, default: settings.defaultEngine)
        let postgis = args.postgis
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

/// The argument `create_database` and `drop_database` share, checked by what only the database host knows.
enum DatabaseArguments {
    /// The `engine` argument, `engine` when absent.
    static func engine(_ text: String?, default engine: AppDatabase.Engine) throws(TaskFailure) -> AppDatabase.Engine {
        try text.map(named) ?? engine
    }

    /// An engine by its name, `postgresql` or `sqlite`.
    static func named(_ text: String) throws(TaskFailure) -> AppDatabase.Engine {
        guard let named = AppDatabase.Engine(rawValue: text) else {
            throw .badArgs("engine must be postgresql or sqlite, not \"\(text.prefix(40))\"")
        }
        return named
    }
}
