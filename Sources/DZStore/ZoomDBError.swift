/// Why a zoomdb cannot be opened where it was asked for.
public enum ZoomDBError: Error, Equatable, CustomStringConvertible {
    /// The file lies on a network or FUSE file system, where SQLite's write-ahead log does not work.
    case networkFileSystem(path: String, type: String)
    /// No zoomdb at the path (a read-only open creates nothing).
    case missing(String)
    /// A zoomdb kept in the spool by an earlier dz could not be moved to the coordinator's disk.
    case legacyMove(from: String, to: String, reason: String)

    public var description: String {
        switch self {
        case .networkFileSystem(let path, let type):
            "the zoomdb \(path) is on a \(type) file system: SQLite's write-ahead log needs a local disk (its -shm "
                + "is one host's shared memory, its locks do not hold between network clients). Give the coordinator a "
                + "local --db, or --allow-network-db to take the risk"
        case .missing(let path):
            "no zoomdb at \(path)"
        case .legacyMove(let from, let to, let reason):
            "cannot move the zoomdb \(from) (an earlier dz kept it in the spool) to \(to): \(reason)"
        }
    }
}
