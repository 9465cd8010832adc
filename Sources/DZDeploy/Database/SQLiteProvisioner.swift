import DZBuild
import DZSpool
import DZSystem

/// Makes and drops apps' SQLite databases, the embedded default: one file per app at
/// `<data>/apps/<project>/db.sqlite3`, in a directory of mode 0700, created empty (SQLite takes an empty file for
/// an empty database). The file is made by the agent's user with mode 0600; the deploy step gives the app's own
/// user the directory and the file.
public struct SQLiteProvisioner: Sendable {
    public let workspace: Workspace

    public init(workspace: Workspace) { self.workspace = workspace }

    /// Gets or creates the project's database file. `name` is its absolute path.
    public func create(_ project: ProjectID) throws(DatabaseError) -> AppDatabase {
        let directory = workspace.appDirectory(project)
        do {
            try FileSystem.makeDirectories(workspace.root + "/apps")
            try FileSystem.makeDirectory(directory, mode: 0o700)
            try FileSystem.setMode(directory, 0o700)
        } catch {
            throw .filesystem(directory, error)
        }
        let file = workspace.sqliteFile(project)
        var created = true
        do {
            // O_EXCL: of two runs at once exactly one creates the file, and an existing database is never touched.
            try FileIO.create(file, bytes: [], mode: 0o600, sync: true)
            try FileSystem.syncDirectory(directory)
        } catch .fileExists {
            created = false
            let status: FileStatus
            do { status = try FileSystem.linkStatus(file) } catch { throw .filesystem(file, error) }
            guard status.isRegular else { throw .filesystem(file, .fileExists) }
        } catch {
            throw .filesystem(file, error)
        }
        let absolute: String
        do { absolute = try FileSystem.resolve(directory) + "/db.sqlite3" } catch { throw .filesystem(directory, error) }
        return AppDatabase(engine: .sqlite, name: absolute, justCreated: created)
    }

    /// Removes the project's database file and SQLite's journal files beside it; true if there was a database.
    /// The app's directory stays: it may hold more than the database.
    public func drop(_ project: ProjectID) throws(DatabaseError) -> Bool {
        let file = workspace.sqliteFile(project)
        var existed = false
        for path in [file, file + "-journal", file + "-wal", file + "-shm"] {
            do {
                try FileSystem.unlink(path)
                if path == file { existed = true }
            } catch .noSuchFileOrDirectory {
                continue
            } catch {
                throw .filesystem(path, error)
            }
        }
        return existed
    }
}
