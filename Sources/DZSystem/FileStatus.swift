#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// What `stat` says of a file, reduced to what dz uses.
public struct FileStatus: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case regular, directory, symbolicLink, other
    }

    public var kind: Kind
    public var size: Int64
    public var device: UInt64
    public var inode: UInt64
    public var linkCount: UInt64
    public var modified: Timestamp
    public var changed: Timestamp
    /// The permission bits (`st_mode & 07777`), the owner's uid and the group's gid.
    public var permissions: UInt32
    public var owner: UInt32
    public var group: UInt32

    public var isDirectory: Bool { kind == .directory }
    public var isRegular: Bool { kind == .regular }

    /// The later of the modification and change times: a rename changes only the latter.
    public var lastTouched: Timestamp { max(modified, changed) }

    init(_ st: stat) {
        switch st.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symbolicLink
        default: kind = .other
        }
        size = Int64(st.st_size)
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        linkCount = UInt64(st.st_nlink)
        modified = Timestamp(st.st_mtim)
        changed = Timestamp(st.st_ctim)
        permissions = UInt32(st.st_mode & 0o7777)
        owner = st.st_uid
        group = st.st_gid
    }
}
