import DZAgent
import DZBuild
import DZDeploy
import DZSpool
import DZTasks

/// `drop_database` (queue `database`, for undeploy with `--drop-data`): drops the project's database. PostgreSQL:
/// ends its sessions, drops database and role, removes the password file. SQLite: removes the database file.
/// Arguments: `project`; optional `engine` (default from the host's `DatabaseSettings`). Dropping what is not
/// there succeeds with `dropped: false`.
public struct DropDatabaseHandler: TaskHandler {
    public let name = "drop_database"
    public let workspace: Workspace
    public let settings: DatabaseSettings

    public init(workspace: Workspace, settings: DatabaseSettings = DatabaseSettings()) {
        self.workspace = workspace
        self.settings = settings
    }

    public func run(_ context: TaskContext) async throws -> [String: JSONValue] {
        let args = try context.arguments(of: DropDatabaseTask.self)
        let project = args.project
        let engine = try DatabaseArguments.engine(args.engine, default: settings.defaultEngine)
        context.logger.info("dropping database", metadata: ["project": "\(project)", "engine": "\(engine.rawValue)"])
        let name: String
        let dropped: Bool
        do {
            switch engine {
            case .sqlite:
                name = workspace.sqliteFile(project)
                dropped = try SQLiteProvisioner(workspace: workspace).drop(project)
            case .postgresql:
                guard let server = settings.postgres else { throw DatabaseError.postgresNotConfigured }
                name = PostgresProvisioner.name(for: project)
                dropped = try await PostgresProvisioner(server: server, workspace: workspace)
                    .drop(project, logger: context.logger)
            }
        } catch let error as DatabaseError {
            throw error.taskFailure
        }
        return DropDatabaseTask.Output(engine: engine.rawValue, name: name, dropped: dropped).json
    }
}
