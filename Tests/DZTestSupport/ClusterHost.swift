/// One host of a `Cluster`: a network namespace with one address on the cluster's bridge, a directory of its own,
/// and its own view of the spool.
///
/// In a shared-spool cluster the view is a bindfs mount of the one spool directory, so that inotify on this host
/// does not see what the other hosts write, as on an NFS client. In a synced-spool cluster the view is a plain
/// directory of this host's alone.
public struct ClusterHost: Sendable, Hashable, CustomStringConvertible {
    /// The host's name, also its dz host id (`DZ_HOST_ID`).
    public let name: String
    /// The network namespace (`ip netns`) its processes run in.
    public let namespace: String
    /// Its IPv4 address on the bridge (a /24 that only the cluster uses).
    public let address: String
    /// A directory of this host's own: data directories, logs, local databases.
    public let directory: String
    /// The spool as this host sees it.
    public let spool: String

    public var description: String { "\(name) (\(address), netns \(namespace))" }
}
