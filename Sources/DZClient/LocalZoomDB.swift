import DZSpool
import DZStore

/// The zoomdb, read-only, for the one thing the spool does not carry: secret values (`dz config show --reveal`).
/// Only where it is on this host: named by `--db` or `$DZ_DB`, or the one the coordinator's lease names when that
/// coordinator runs on this very machine, or this spool's default (see `ZoomDBLocation.local`).
public enum LocalZoomDB {
    public static func open(spool: Spool, explicit: String?, environment: [String: String]) throws(ClientError) -> ZoomDB {
        guard let location = ZoomDBLocation.local(spool: spool, explicit: explicit, environment: environment) else {
            let holder = PublishedState(spool: spool).coordinator()?.holder
            throw .unavailable("the zoomdb is not on this host"
                + (holder.map { ": it is \($0.database) on \($0.host), the coordinator's host" } ?? "")
                + "; secret values are never published in the spool")
        }
        do { return try ZoomDB(readOnlyAt: location.path) } catch let error as ZoomDBError {
            throw .unavailable("\(error)")
        } catch {
            throw .unavailable("\(location.path): \(error)")
        }
    }
}
