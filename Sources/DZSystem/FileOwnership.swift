#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Who owns a file and its permission bits: what `dz doctor` needs to say whether another user can use it.
public struct FileOwnership: Sendable, Equatable {
    public var uid: UInt32
    public var gid: UInt32
    /// The permission bits (`0o7777` of `st_mode`).
    public var mode: UInt32

    public init(uid: UInt32, gid: UInt32, mode: UInt32) {
        self.uid = uid
        self.gid = gid
        self.mode = mode
    }

    /// The ownership of `path` (symbolic links followed).
    ///
    /// The corresponding C function is `stat`.
    public static func of(_ path: String) throws(Errno) -> FileOwnership {
        var status = stat()
        guard stat(path, &status) == 0 else { throw Errno(rawValue: errno) }
        return FileOwnership(uid: status.st_uid, gid: status.st_gid, mode: UInt32(status.st_mode) & 0o7777)
    }

    /// Whether `account` may read, write and enter this directory (root always may).
    public func allowsFullUse(by account: UserAccount) -> Bool {
        if account.uid == 0 { return true }
        let bits: UInt32
        if account.uid == uid {
            bits = (mode >> 6) & 7
        } else if account.groups.contains(gid) {
            bits = (mode >> 3) & 7
        } else {
            bits = mode & 7
        }
        return bits == 7
    }
}

/// A unix user as the system knows it: name, ids and every group it is in.
public struct UserAccount: Sendable, Equatable {
    public var name: String
    public var uid: UInt32
    public var gid: UInt32
    /// The primary group and the supplementary ones.
    public var groups: [UInt32]

    public init(name: String, uid: UInt32, gid: UInt32, groups: [UInt32]) {
        self.name = name
        self.uid = uid
        self.gid = gid
        self.groups = groups
    }

    /// The user named `name`, or nil when there is none.
    ///
    /// The corresponding C functions are `getpwnam_r` and `getgrouplist`.
    public static func named(_ name: String) -> UserAccount? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        guard getpwnam_r(name, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        let uid = entry.pw_uid, gid = entry.pw_gid
        var count: Int32 = 64
        var groups = [gid_t](repeating: 0, count: Int(count))
        if getgrouplist(name, gid, &groups, &count) < 0 {
            groups = [gid_t](repeating: 0, count: Int(count))
            _ = getgrouplist(name, gid, &groups, &count)
        }
        return UserAccount(name: name, uid: uid, gid: gid, groups: Array(groups.prefix(Int(max(0, count)))))
    }

    /// The user this process runs as (its effective ids and groups).
    ///
    /// The corresponding C functions are `geteuid`, `getegid`, `getgroups` and `getpwuid_r`.
    public static var current: UserAccount {
        let uid = geteuid(), gid = getegid()
        var groups = [gid_t](repeating: 0, count: 256)
        let count = getgroups(Int32(groups.count), &groups)
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        var name = String(uid)
        if getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let pointer = entry.pw_name {
            name = String(cString: pointer)
        }
        return UserAccount(name: name, uid: uid, gid: gid, groups: [gid] + Array(groups.prefix(Int(max(0, count)))))
    }
}
