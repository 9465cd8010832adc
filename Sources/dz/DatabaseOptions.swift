import ArgumentParser
import DZSpool
import DZStore
import Foundation

/// The zoomdb location: for the coordinator, which keeps it, and for `dz config show --reveal`, which reads it
/// (read-only) where it is on this host.
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

