import DZSpool
import DZSystem

/// Where an SQLite app's database file lives: on one host (its database host), in `<appsRoot>/<project>/
/// db.sqlite3`. Only an appserver of that host whose apps root is that directory can run the app (the file is not
/// reachable from anywhere else, and is never copied); placement keeps to those, and `check_placement` refuses a
/// job before its build when there is none.
public struct SQLiteHome: Sendable, Equatable, CustomStringConvertible {
    /// The database host's id, when known (recorded from the host that ran `create_database`).
    public var host: String?
    /// The apps root holding `<project>/db.sqlite3`.
    public var appsRoot: String

    public init(host: String?, appsRoot: String) {
        self.host = host
        self.appsRoot = appsRoot
    }

    /// The home of the database file `file` (`/.../apps/<project>/db.sqlite3`, absolute, no `.` or `..`), or nil
    /// for another path.
    public init?(databaseFile file: String, host: String?) {
        let parts = file.split(separator: "/", omittingEmptySubsequences: false)
        guard file.hasPrefix("/"), parts.count >= 4, parts.last == "db.sqlite3",
              !parts.dropFirst().contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) else { return nil }
        self.init(host: host, appsRoot: parts.dropLast(2).joined(separator: "/"))
    }

    /// Why the appserver that wrote `heartbeat` cannot run the app, or nil when it can: it must be on the
    /// database's host (when known) and publish this apps root (an appserver that publishes none is taken on the
    /// host alone: `deploy` checks the directory itself).
    public func refusal(of heartbeat: Heartbeat) -> String? {
        let root = heartbeat.facts[PlacementFacts.appsRoot]
        if let host, heartbeat.host.rawValue != host {
            return "not on the SQLite database's host \(host)"
        }
        if let root, root != appsRoot {
            return "its apps root \(root) does not hold the SQLite database (in \(appsRoot))"
        }
        if host == nil, root == nil {
            return "publishes no apps root, and the SQLite database's host is not known"
        }
        return nil
    }

    /// The fix, for error messages.
    public func advice(recorded: Bool) -> String {
        let place = host.map { "on \($0) " } ?? ""
        return "an SQLite app runs only on an appserver of its database's host whose apps root holds the file: start "
            + "one \(place)with --apps-root \(appsRoot), or give the app PostgreSQL (dz deploy --db-engine postgresql, "
            + "or database_type = postgresql in zoombuild.cfg)"
            + (recorded ? "; its data does not move to the new database by itself" : "")
    }

    public var description: String { "\(appsRoot)" + (host.map { " on host \($0)" } ?? "") }
}
