import ArgumentParser
import DZSpool
import DZStore
import DZSystem
import Foundation

/// The zoomdb location, for commands that read or keep job state.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The zoomdb file (default: $DZ_DB, else <spool>/zoomdb/zoomdb.sqlite3).", valueName: "path"))
    var db: String?

    func path(spool: Spool) -> String {
        ZoomDB.path(explicit: db, spoolRoot: spool.root, environment: ProcessInfo.processInfo.environment)
    }

    /// Opens an existing zoomdb; exit 69 when there is none yet.
    func open(spool: Spool) throws -> ZoomDB {
        let file = path(spool: spool)
        guard FileSystem.exists(file) else {
            complain("no zoomdb at \(file): start `dz coordinator` first")
            throw ExitStatus.unavailable
        }
        do { return try ZoomDB(path: file) } catch {
            complain("\(file): \(error)")
            throw ExitStatus.systemFailure
        }
    }
}
