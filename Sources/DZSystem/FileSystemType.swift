#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import CDZShims

/// The kind of file system a path lives on, from `statfs`'s `f_type`: enough to tell a local disk from a network
/// or FUSE file system, where SQLite's write-ahead log does not work (its `-shm` file is shared memory of one
/// host, and its locks are not shared between NFS clients or bindfs views).
public struct FileSystemType: Sendable, Equatable, CustomStringConvertible {
    /// The magic number statfs reports.
    public let magic: UInt32

    public init(magic: UInt32) { self.magic = magic }

    /// File systems whose files other hosts (or another FUSE process) can change, or whose locking and shared
    /// memory do not hold between their clients: NFS, SMB/CIFS, 9p, Ceph, AFS, Coda, Lustre, GPFS, GFS2, OCFS2,
    /// OrangeFS, BeeGFS, NCP, and every FUSE file system (sshfs, bindfs, s3fs, GlusterFS's client, ...).
    static let network: [UInt32: String] = [
        0x6969: "nfs", 0x517B: "smb", 0xFF53_4D42: "cifs", 0xFE53_4D42: "smb2", 0x6573_5546: "fuse",
        0x0102_1997: "9p", 0x00C3_6400: "ceph", 0x5346_414F: "afs", 0x6B41_4653: "afs", 0x7375_7245: "coda",
        0x0BD0_0BD0: "lustre", 0x4750_4653: "gpfs", 0x0116_1970: "gfs2", 0x7461_636F: "ocfs2",
        0x1366_1366: "orangefs", 0x1983_0326: "beegfs", 0x564C: "ncp",
    ]

    /// Local file systems dz names in messages.
    static let local: [UInt32: String] = [
        0xEF53: "ext4", 0x5846_5342: "xfs", 0x9123_683E: "btrfs", 0x0102_1994: "tmpfs", 0x794C_7630: "overlay",
        0x2FC1_2FC1: "zfs", 0xF2F5_2010: "f2fs", 0x8584_58F6: "ramfs", 0x4D44: "vfat", 0x5346_544E: "ntfs",
        0x9FA0: "proc",
    ]

    /// Whether the file system is shared over a network or served by a FUSE process.
    public var isNetwork: Bool { Self.network[magic] != nil }

    /// `nfs`, `fuse`, `ext4`, ..., or the magic number in hex.
    public var name: String { Self.network[magic] ?? Self.local[magic] ?? "0x" + String(magic, radix: 16) }

    public var description: String { name }
}

extension FileSystem {
    /// The type of the file system holding `path` (which must exist).
    ///
    /// The corresponding C function is `statfs`.
    public static func type(of path: String) throws(Errno) -> FileSystemType {
        var type: Int64 = 0
        _ = try retryingInterrupts { dz_statfs_type(path, &type) }.get()
        return FileSystemType(magic: UInt32(truncatingIfNeeded: type))
    }

    /// The type of the file system that holds, or would hold, `path`: that of its nearest existing ancestor.
    public static func type(ofFutureFile path: String) throws(Errno) -> FileSystemType {
        var candidate = path.isEmpty ? "." : path
        while true {
            if exists(candidate) { return try type(of: candidate) }
            guard let slash = candidate.lastIndex(of: "/") else { return try type(of: ".") }
            candidate = slash == candidate.startIndex ? "/" : String(candidate[..<slash])
        }
    }
}
