import DZAgent
import DZSystem

/// Why a database could not be made or dropped, each with a message for the job log. No message ever holds a
/// password: psql's output is scrubbed of every secret of the run before it gets here (`Psql`).
public enum DatabaseError: Error, Equatable, CustomStringConvertible {
    /// The agent's database configuration is wrong (bad flag, passfile readable by others).
    case badSettings(String)
    /// A PostgreSQL database was asked for on a host configured without one.
    case postgresNotConfigured
    /// psql (or another program) is not installed.
    case toolMissing(String)
    /// psql failed: what was being done, and the tail of its (scrubbed) output.
    case failed(String, String)
    case timedOut(String, Double)
    /// `postgis: true`, but the server has no PostGIS extension to install.
    case postgisUnavailable(server: String)
    /// Another create_database or drop_database for the same project runs on this host.
    case busy(String)
    /// A file operation on this host failed.
    case filesystem(String, Errno)

    public var description: String {
        switch self {
        case .badSettings(let why): "database settings: \(why)"
        case .postgresNotConfigured:
            "this host has no PostgreSQL server configured: start `dz agent` with --pg-admin-host (or $DZ_PG_ADMIN_HOST)"
        case .toolMissing(let tool): "\(tool) is not installed on this database host (apt-get install postgresql-client)"
        case .failed(let step, let output): "\(step) failed: \(output)"
        case .timedOut(let step, let seconds): "\(step) did not finish within \(Int(seconds)) s"
        case .postgisUnavailable(let server):
            "PostGIS is not available on the PostgreSQL server \(server): install it there "
                + "(apt-get install postgresql-15-postgis-3, matching the server's major version)"
        case .busy(let project): "another database task for \(project) is running on this host"
        case .filesystem(let path, let error): "\(path): \(error)"
        }
    }

    /// Whether another attempt may succeed: a busy project, a time-out or a refused connection may clear up;
    /// settings, missing tools and SQL errors will not.
    public var isRetryable: Bool {
        switch self {
        case .busy, .timedOut: true
        case .failed(_, let output):
            output.contains("could not connect") || output.contains("Connection refused")
                || output.contains("the database system is starting up")
                || output.contains("the database system is shutting down")
                || output.contains("too many clients")
        default: false
        }
    }

    /// A stable word for programs: `database-settings`, `postgis-unavailable`, `database-busy` or `database`.
    public var kind: String {
        switch self {
        case .badSettings, .postgresNotConfigured, .toolMissing: "database-settings"
        case .postgisUnavailable: "postgis-unavailable"
        case .busy: "database-busy"
        default: "database"
        }
    }

    /// The task failure a handler throws for this error.
    public var taskFailure: TaskFailure { TaskFailure(kind: kind, message: description, retryable: isRetryable) }
}
