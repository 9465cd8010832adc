import ArgumentParser
import DZSpool
import DZStore
import Foundation

/// The zoomdb location, for the coordinator (which keeps it) and the few commands that read it where it is local.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The zoomdb file on this host's disk (default: $DZ_DB, else <state>/zoomdb/<spool-id>.sqlite3; see dz(1)).",
        valueName: "path"))
    var db: String?

    /// Where the zoomdb is for this spool; nil when nothing names one and the spool has no id yet.
    func location(spoolID: String?) -> ZoomDBLocation? {
        guard var location = ZoomDBLocation.resolve(explicit: db, spoolID: spoolID,
                                                    environment: ProcessInfo.processInfo.environment)
        else { return nil }
        // Absolute, so that the lease names a file other commands can find whatever their directory.
        if !location.path.hasPrefix("/") {
            location.path = FileManager.default.currentDirectoryPath + "/" + location.path
        }
        return location
    }
}

extension DatabaseOptions {
    /// This host's zoomdb, opened read-only; exit 69 when it is not on this host.
    func openLocal(spool: Spool) throws -> ZoomDB {
        guard let location = ZoomDBLocation.local(spool: spool, explicit: db,
                                                  environment: ProcessInfo.processInfo.environment) else {
            complain("no zoomdb on this host: it is the coordinator's (see `dz status`); give --db to read another")
            throw ExitStatus.unavailable
        }
        do { return try ZoomDB(readOnlyAt: location.path) } catch {
            complain("\(location.path): \(error)")
            throw error is ZoomDBError ? ExitStatus.usage : ExitStatus.systemFailure
        }
    }

    /// Whether this host has a zoomdb to read.
    func localPath(spool: Spool) -> String? {
        ZoomDBLocation.local(spool: spool, explicit: db, environment: ProcessInfo.processInfo.environment)?.path
    }
}
