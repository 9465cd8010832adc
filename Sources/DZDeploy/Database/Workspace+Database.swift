import DZBuild
import DZSpool

/// Where the database tasks keep their files in the host's data directory.
extension Workspace {
    /// `<data>/databases` (mode 0700): the app roles' password files and the per-project locks, on the database
    /// host.
    public var databasesDirectory: String { root + "/databases" }

    /// `<data>/databases/<project>.pgpass` (mode 0600): the app role's password, as one libpq password file line
    /// (`host:port:database:user:password`), so that an operator can log in as the app with
    /// `PGPASSFILE=<file> psql -h HOST -U app_<project> app_<project>`. It is the only copy dz keeps: a second
    /// `create_database` reads it instead of resetting the password.
    public func passwordFile(_ project: ProjectID) -> String {
        databasesDirectory + "/" + project.rawValue + ".pgpass"
    }

    /// `<data>/databases/<project>.lock`: held while a database task for the project runs on this host. Lock
    /// files stay after a drop: removing a lock file that another process may have open would let two holders in.
    func databaseLock(_ project: ProjectID) -> String {
        databasesDirectory + "/" + project.rawValue + ".lock"
    }

    /// `<data>/apps/<project>` (mode 0700): the app's own data on this host.
    public func appDirectory(_ project: ProjectID) -> String { root + "/apps/" + project.rawValue }

    /// `<data>/apps/<project>/db.sqlite3`: the app's SQLite database, the embedded default.
    public func sqliteFile(_ project: ProjectID) -> String { appDirectory(project) + "/db.sqlite3" }
}
