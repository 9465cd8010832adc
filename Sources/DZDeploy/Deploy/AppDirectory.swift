import DZSpool
import DZSystem

/// An app's directory on an appserver, `<appsRoot>/<project>/` (mode 0750, the app's user's): its bundles, `logs/`,
/// `run/` (pid files) and, with SQLite, its database. `<appsRoot>` itself is root's, mode 0711: apps can reach
/// their own directory but cannot list or replace anyone's.
package struct AppDirectory: Sendable {
    let settings: AppServerSettings
    let project: ProjectID
    let user: AppUser

    package init(settings: AppServerSettings, project: ProjectID, user: AppUser) {
        self.settings = settings
        self.project = project
        self.user = user
    }

    package var path: String { settings.appDirectory(project.rawValue) }

    /// Creates or fixes the directory, `logs/` and `run/`, never following a link an app may have put there.
    @discardableResult
    package func prepare() throws(DeployError) -> DirectoryHandle {
        do {
            try FileSystem.makeDirectories(settings.appsRoot, mode: 0o711)
        } catch {
            throw .filesystem("create", path: settings.appsRoot, error)
        }
        do {
            let apps = try DirectoryHandle.open(settings.appsRoot)
            if user.switches { try apps.setOwner((0, 0), mode: 0o711) }
            let app = try apps.makeDirectory(project.rawValue, mode: 0o750, owner: user.owner)
            try app.makeDirectory("logs", mode: 0o750, owner: user.owner)
            try app.makeDirectory("run", mode: 0o750, owner: user.owner)
            return app
        } catch {
            throw .filesystem("prepare", path: path, error)
        }
    }

    /// Makes the app's SQLite database (and its `-wal`, `-shm` and `-journal` files) the app's user's, and
    /// returns the binding the sandbox needs when the database's path names the directory differently (a link in
    /// the data directory's path). A database outside this host's app directory cannot be used.
    package func adoptSQLite(_ database: AppDatabase, handle: DirectoryHandle) throws(DeployError) -> Sandbox.Binding? {
        guard database.engine == .sqlite else { return nil }
        let named = String(database.name.dropLast("/db.sqlite3".count))
        let real = try? FileSystem.resolve(named)
        let own = try? FileSystem.resolve(path)
        guard let real, real == own else {
            throw .database("the SQLite database \(database.name) is not in this appserver's directory for "
                + "\(project) (\(path)): SQLite apps run on the host that holds their database")
        }
        for name in ["db.sqlite3", "db.sqlite3-wal", "db.sqlite3-shm", "db.sqlite3-journal"] {
            guard let owner = user.owner else { break }
            do { try handle.chownFile(name, owner: owner) } catch {
                throw .filesystem("chown", path: path + "/" + name, error)
            }
        }
        return named == path ? nil : Sandbox.Binding(source: path, destination: named)
    }
}
