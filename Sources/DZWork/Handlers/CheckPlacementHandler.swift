import DZAgent
import DZBuild
import DZDeploy
import DZSource
import DZSpool
import DZSystem
import DZTasks

/// `check_placement` (queue `build`): refuses, before the build, a deploy that could not be placed once built
/// (see `PlacementCheck`): an SQLite app with no appserver on its database's host whose apps root holds the file.
///
/// Arguments: `project`; optional `engine` (`postgresql` or `sqlite`: the job's `db_engine`, else the recorded
/// database's), `zoombuild_cfg` (the config's text: its `database_type` when no engine is given), `database` (the
/// app's recorded database: `engine`, `name`, `host`). Output: `engine` (or null: each database host's default),
/// `sqlite` (each possible home of the database with the appservers that reach it). Failure kind
/// `sqlite-placement`, not retried, with the fix (`--db-engine postgresql`, `database_type`, or an appserver there).
///
/// It also checks the config's `python_version` against this build host's interpreters and the appservers'
/// (`PythonPlacement`), and a database engine the project demands against what the database hosts provide
/// (`DatabaseDemand`, failure kind `database-unavailable` naming both fixes): output `python`, the minor version the build is to use (null: the build host's newest
/// fitting one); failure kind `python-unavailable`, not retried, with the sentence that says what to add.
public struct CheckPlacementHandler: TaskHandler {
    public let name = "check_placement"
    public let spool: Spool
    /// The interpreters this build host offers.
    public let pythons: AllowedPythons

    public init(spool: Spool, pythons: AllowedPythons = .systemDefaults()) {
        self.spool = spool
        self.pythons = pythons
    }

    public func run(_ context: TaskContext) async throws -> [String: JSONValue] {
        let args = try context.arguments(of: CheckPlacementTask.self)
        let project = args.project
        var engine = try args.engine.map(DatabaseArguments.named)
        var basis = "the job's --db-engine or the app's database"
        let config = args.zoombuildConfig.flatMap { try? ZoombuildConfig.parse($0) }
        if engine == nil, let config, let type = config.databaseType {
            // A config that does not parse is build_bundle's to report.
            switch type {
            case .postgresql, .postgis, .postgresql84, .postgresqlGIS: engine = .postgresql
            case .sqlite: engine = .sqlite
            case .mysql: break
            }
            basis = "database_type \(type.rawValue) in zoombuild.cfg"
        }
        let heartbeats = spool.heartbeats()
        let python: String?
        switch PythonPlacement(requirement: config?.pythonVersion.flatMap(PythonRequirement.init),
                               basis: "python_version in zoombuild.cfg", buildPythons: pythons).check(heartbeats)
        {
        case .success(let chosen): python = chosen
        case .failure(let unavailable):
            throw TaskFailure(kind: "python-unavailable", message: unavailable.message, retryable: false)
        }
        let recorded = try PlacementHandler.sqliteHome(args.database, heartbeats: heartbeats)
        if recorded != nil { engine = engine ?? .sqlite }
        if let engine, let problem = DatabaseDemand(engine: engine, postgis: config?.databaseType?.requiresPostGIS == true,
                                                    basis: basis).problem(heartbeats)
        {
            throw TaskFailure(kind: "database-unavailable", message: problem, retryable: false)
        }
        let finding = PlacementCheck(project: project.rawValue, engine: engine, recorded: engine == .postgresql ? nil : recorded)
            .check(heartbeats)
        if let problem = finding.problem {
            throw TaskFailure(kind: "sqlite-placement", message: problem, retryable: false)
        }
        // No demand: the engine the live database hosts default to, when they agree, so that the bundle gets
        // its driver (a hint in the project's requirements is not installed from a file the proposal left out).
        let defaults = Set(heartbeats.filter { Timestamp.now() - $0.updated <= 30
                && $0.queues.contains { $0.rawValue == "database" } }
            .compactMap { $0.facts[PlacementFacts.databaseEngine].flatMap(AppDatabase.Engine.init) })
        let chosen = engine ?? (defaults.count == 1 ? defaults.first : nil)
        return CheckPlacementTask.Output(
            python: python, engine: chosen?.rawValue,
            sqlite: finding.homes.map { found in
                var object: [String: JSONValue] = ["apps_root": .string(found.home.appsRoot),
                                                   "appservers": .array(found.appservers.map { .string($0) })]
                if let host = found.home.host { object["host"] = .string(host) }
                return object
            }).json
    }
}
