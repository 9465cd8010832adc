import DZSpool
import DZSystem

/// Where the zoomdb is: the coordinator's own file on its own local disk, never in the spool that other hosts
/// share (SQLite's write-ahead log does not work over NFS, and a command on another host that opened it deleted
/// the coordinator's `-wal`).
///
/// `--db`, else `$DZ_DB`, else `<state>/zoomdb/<spool-id>.sqlite3`, where `<state>` is systemd's
/// `$STATE_DIRECTORY` (a unit's `StateDirectory=`), else `/var/lib/dz` for root, else `$XDG_STATE_HOME/dz`, else
/// `~/.local/state/dz`; the spool's id (`<spool>/spool.id`) in the name keeps the zoomdbs of two spools on one
/// host apart.
public struct ZoomDBLocation: Sendable, Equatable, CustomStringConvertible {
    /// What chose the path.
    public enum Source: String, Sendable {
        case option, environment
        case standard = "default"
        /// The running coordinator's lease names it (a command on the coordinator's host).
        case lease
    }

    public var path: String
    public var source: Source

    public init(path: String, source: Source) {
        self.path = path
        self.source = source
    }

    /// The location to use; nil when nothing names one and the default cannot be made (no spool id yet, or no
    /// state directory for this user).
    public static func resolve(explicit: String?, spoolID: String?, environment: [String: String],
                               isRoot: Bool = Host.isRoot) -> ZoomDBLocation?
    {
        if let explicit, !explicit.isEmpty { return ZoomDBLocation(path: explicit, source: .option) }
        if let named = environment["DZ_DB"], !named.isEmpty { return ZoomDBLocation(path: named, source: .environment) }
        guard let spoolID, !spoolID.isEmpty, let state = stateDirectory(environment: environment, isRoot: isRoot)
        else { return nil }
        return ZoomDBLocation(path: state + "/zoomdb/" + spoolID + ".sqlite3", source: .standard)
    }

    /// The directory dz keeps a host's own state in.
    public static func stateDirectory(environment: [String: String], isRoot: Bool) -> String? {
        if let systemd = environment["STATE_DIRECTORY"]?.split(separator: ":").first, systemd.hasPrefix("/") {
            return String(systemd)
        }
        if isRoot { return "/var/lib/dz" }
        if let xdg = environment["XDG_STATE_HOME"], xdg.hasPrefix("/") { return xdg + "/dz" }
        if let home = environment["HOME"], home.hasPrefix("/") { return home + "/.local/state/dz" }
        return nil
    }

    /// Where dz kept the zoomdb before it moved to the coordinator's disk: in the spool.
    public static func legacyPath(spoolRoot: String) -> String { spoolRoot + "/zoomdb/zoomdb.sqlite3" }

    public var description: String { path + " (" + source.rawValue + ")" }
}

extension ZoomDBLocation {
    /// Where a command on this host finds the zoomdb to read (read-only), if it is on this host at all: the one
    /// named by `--db`, else `$DZ_DB`'s if it exists, else the one the running coordinator's lease names when that coordinator runs on
    /// this very machine (same boot id), else the default for this spool. Nil when none of these exists here.
    public static func local(spool: Spool, explicit: String?, environment: [String: String]) -> ZoomDBLocation? {
        if let named = resolve(explicit: explicit, spoolID: nil, environment: environment),
           named.source == .option || FileSystem.exists(named.path)
        {
            return named
        }
        if let holder = CoordinatorLease.read(spool.root + "/coordinator.lease"), holder.bootID == Host.bootID,
           holder.database.hasPrefix("/"), FileSystem.exists(holder.database)
        {
            return ZoomDBLocation(path: holder.database, source: .lease)
        }
        guard let standard = resolve(explicit: nil, spoolID: spool.existingIdentity(), environment: environment),
              FileSystem.exists(standard.path) else { return nil }
        return standard
    }
}
