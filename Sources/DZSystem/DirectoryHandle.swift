#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import SystemPackage

/// An open directory, and the file operations deploying needs relative to it, none of which follows a symbolic
/// link at its last step: the one place dz calls the `*at` system calls for deploying.
///
/// An app owns its directory, so it can put a symbolic link where dz (running as root) will later write, read or
/// change the owner of a file: `logs/x.log -> /etc/shadow`. Every path below an app's directory is therefore
/// walked from a trusted directory one component at a time with `O_NOFOLLOW`, and what is read must belong to the
/// app's user.
public final class DirectoryHandle: Sendable {
    public let descriptor: Int32
    /// For messages only: operations never resolve it again.
    public let path: String

    private init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit { _ = Glibc.close(descriptor) }

    /// Opens the trusted directory `path` (symbolic links in it are followed: dz chose it).
    ///
    /// The corresponding C function is `open(O_DIRECTORY)`.
    public static func open(_ path: String) throws(Errno) -> DirectoryHandle {
        let fd = try retrying { Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        return DirectoryHandle(descriptor: fd, path: path)
    }

    /// Opens the directory `name` (one component) in this one, refusing a symbolic link (`ELOOP`).
    ///
    /// The corresponding C function is `openat(O_DIRECTORY | O_NOFOLLOW)`.
    public func directory(_ name: String) throws(Errno) -> DirectoryHandle {
        let fd = try retrying { openat(descriptor, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        return DirectoryHandle(descriptor: fd, path: path + "/" + name)
    }

    /// Opens the directory at the relative `components` below this one, each step refusing a symbolic link.
    public func directory(components: [String]) throws(Errno) -> DirectoryHandle {
        var current = self
        for name in components { current = try current.directory(name) }
        return current
    }

    /// Creates the directory `name` if it is missing, then gives it `owner` and `mode` (an existing symbolic link
    /// is refused, never followed).
    ///
    /// The corresponding C functions are `mkdirat`, `openat(O_NOFOLLOW)`, `fchown` and `fchmod`.
    @discardableResult
    public func makeDirectory(_ name: String, mode: mode_t, owner: (uid: UInt32, gid: UInt32)?) throws(Errno)
        -> DirectoryHandle
    {
        if mkdirat(descriptor, name, mode) != 0, errno != EEXIST { throw Errno(rawValue: errno) }
        let handle = try directory(name)
        try handle.setOwner(owner, mode: mode)
        return handle
    }

    /// Gives this directory `owner` (when not nil) and `mode`.
    ///
    /// The corresponding C functions are `fchown` and `fchmod`.
    public func setOwner(_ owner: (uid: UInt32, gid: UInt32)?, mode: mode_t) throws(Errno) {
        if let owner { _ = try retrying { fchown(descriptor, owner.uid, owner.gid) } }
        _ = try retrying { fchmod(descriptor, mode) }
    }

    /// The status of `name` itself (a symbolic link is not followed), or nil when there is none.
    ///
    /// The corresponding C function is `fstatat(AT_SYMLINK_NOFOLLOW)`.
    public func entry(_ name: String) -> stat? {
        var st = stat()
        guard fstatat(descriptor, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { return nil }
        return st
    }

    /// Gives the regular file `name` to `owner`; false when there is no such file. Anything but a regular file
    /// (a link, a FIFO) is refused with `EPERM`.
    ///
    /// The corresponding C functions are `openat(O_NOFOLLOW | O_NONBLOCK)`, `fstat` and `fchown`.
    @discardableResult
    public func chownFile(_ name: String, owner: (uid: UInt32, gid: UInt32)) throws(Errno) -> Bool {
        let fd: Int32
        do { fd = try retrying { openat(descriptor, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) } } catch {
            if error == .noSuchFileOrDirectory { return false }
            throw error
        }
        defer { _ = Glibc.close(fd) }
        var st = stat()
        _ = try retrying { fstat(fd, &st) }
        guard st.st_mode & S_IFMT == S_IFREG else { throw .notPermitted }
        _ = try retrying { fchown(fd, owner.uid, owner.gid) }
        return true
    }

    /// Reads the regular file `name`, at most its last `limit` bytes; with `ownedBy`, only a file of that user
    /// (`EPERM` otherwise), so that an app cannot make dz read another's file through a hard link.
    public func read(_ name: String, limit: Int, ownedBy uid: UInt32? = nil) throws(Errno) -> [UInt8] {
        try read(name, ownedBy: uid) { status in max(0, Int(status.st_size) - limit)..<Int(status.st_size) }.bytes
    }

    /// Reads the bytes `range` picks, from the file's status, of the regular file `name` (a symbolic link, a FIFO
    /// or a device is refused with `ELOOP` or `EPERM`); with `ownedBy`, only a file of that user (`EPERM`
    /// otherwise). Returns the status and the bytes read, fewer than asked when the file shrank meanwhile.
    ///
    /// The corresponding C functions are `openat(O_NOFOLLOW | O_NONBLOCK)`, `fstat`, `pread`.
    public func read(_ name: String, ownedBy uid: UInt32? = nil, range: (stat) -> Range<Int>) throws(Errno)
        -> (status: stat, bytes: [UInt8])
    {
        let fd = try retrying { openat(descriptor, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) }
        defer { _ = Glibc.close(fd) }
        var st = stat()
        _ = try retrying { fstat(fd, &st) }
        guard st.st_mode & S_IFMT == S_IFREG else { throw .notPermitted }
        if let uid, st.st_uid != uid { throw .notPermitted }
        let wanted = range(st).clamped(to: 0..<max(0, Int(st.st_size)))
        var buffer = [UInt8](repeating: 0, count: wanted.count)
        var filled = 0
        while filled < buffer.count {
            let count = try retrying {
                buffer.withUnsafeMutableBytes { raw in
                    pread(fd, raw.baseAddress! + filled, raw.count - filled, off_t(wanted.lowerBound + filled))
                }
            }
            if count == 0 { break }
            filled += count
        }
        return (st, Array(buffer[0..<filled]))
    }

    /// Replaces `name` with a file holding `bytes`, of `owner` and `mode`: written under a new hidden name that
    /// cannot be a link (`O_EXCL`), fsynced, then renamed over `name` (a link there is replaced, not followed).
    ///
    /// The corresponding C functions are `openat(O_CREAT | O_EXCL | O_NOFOLLOW)`, `write`, `fchown`, `fchmod`,
    /// `fsync` and `renameat`.
    public func replaceFile(_ name: String, bytes: [UInt8], mode: mode_t, owner: (uid: UInt32, gid: UInt32)?)
        throws(Errno)
    {
        let temporary = "." + name + ".tmp-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let fd = try retrying {
            openat(descriptor, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode_t(0o600))
        }
        var committed = false
        defer {
            _ = Glibc.close(fd)
            if !committed { _ = unlinkat(descriptor, temporary, 0) }
        }
        var written = 0
        while written < bytes.count {
            let count = try retrying {
                bytes.withUnsafeBytes { raw in write(fd, raw.baseAddress! + written, raw.count - written) }
            }
            written += count
        }
        if let owner { _ = try retrying { fchown(fd, owner.uid, owner.gid) } }
        _ = try retrying { fchmod(fd, mode) }
        _ = try retrying { fsync(fd) }
        _ = try retrying { renameat(descriptor, temporary, descriptor, name) }
        committed = true
        _ = fsync(descriptor)
    }

    /// The names in this directory, but `.` and `..`.
    ///
    /// The corresponding C functions are `dup`, `fdopendir`, `readdir` and `closedir`.
    public func names() throws(Errno) -> [String] {
        let copy = try retrying { dup(descriptor) }
        guard let stream = fdopendir(copy) else {
            let error = Errno(rawValue: errno)
            _ = Glibc.close(copy)
            throw error
        }
        defer { closedir(stream) }
        rewinddir(stream)
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = String(decoding: FileSystem.entryName(entry), as: UTF8.self)
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Makes the symbolic link `name` pointing at `target` (an existing `name` is an error).
    ///
    /// The corresponding C function is `symlinkat`.
    public func makeSymbolicLink(_ name: String, target: String) throws(Errno) {
        _ = try retrying { symlinkat(target, descriptor, name) }
    }

    /// Renames `name` to `newName` in this directory (neither is followed if a link).
    ///
    /// The corresponding C function is `renameat`.
    public func rename(_ name: String, to newName: String) throws(Errno) {
        _ = try retrying { renameat(descriptor, name, descriptor, newName) }
    }

    /// Removes the name `name` (a file or a link; never what a link points to); a missing name is not an error.
    ///
    /// The corresponding C function is `unlinkat`.
    public func unlink(_ name: String) throws(Errno) {
        if unlinkat(descriptor, name, 0) != 0, errno != ENOENT { throw Errno(rawValue: errno) }
    }

    /// `retryingInterrupts` (the one EINTR loop), throwing the `errno` of a negative result.
    private static func retrying<T: SignedInteger>(_ body: () -> T) throws(Errno) -> T {
        try retryingInterrupts(body).get()
    }

    private func retrying<T: SignedInteger>(_ body: () -> T) throws(Errno) -> T {
        try retryingInterrupts(body).get()
    }
}

extension DirectoryHandle {
    /// Whether every directory from `/` down to `path` (not `path` itself) may be searched by any user: what a
    /// process of an app's user needs to reach `path` without a sandbox.
    public static func isReachableByAnyone(_ path: String) -> Bool {
        var prefix = ""
        for component in path.split(separator: "/").dropLast() {
            prefix += "/" + component
            var st = stat()
            guard stat(prefix, &st) == 0, st.st_mode & S_IXOTH != 0 else { return false }
        }
        return true
    }
}
