#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import CDZShims
import SystemPackage

/// The file system calls the spool is built from, each a thin wrapper of one C function, throwing `Errno`.
public enum FileSystem {
    /// Renames `from` to `to`, replacing `to` if it exists.
    ///
    /// The corresponding C function is `rename`.
    public static func rename(_ from: String, _ to: String) throws(Errno) {
        _ = try once { Glibc.rename(from, to) }.get()
    }

    /// Renames `from` to `to` only if `to` does not exist; `EEXIST` otherwise.
    ///
    /// Uses `renameat2(RENAME_NOREPLACE)`; where the file system does not support it (NFS, some FUSE file
    /// systems answer `EINVAL`), falls back to `link` then `unlink`, which is how Maildir moves without replacing.
    /// A FUSE file system such as bindfs makes the link and then looks the new name up to answer: when a
    /// process of another host has already moved the file on (a coordinator claiming a request the moment it
    /// appears, and perhaps rewriting it), the answer is `ENOENT` for a link that was made. `link` has no other
    /// cause for `ENOENT` than a missing source or a missing directory of the new name: when both are there
    /// right after, the link was made. (The source's link count cannot tell: the other process may already
    /// have replaced the file it took.)
    ///
    /// The corresponding C functions are `renameat2`, `link`, `lstat` and `unlink`.
    public static func renameNoReplace(_ from: String, _ to: String) throws(Errno) {
        guard try !renameIfNoReplaceSupported(from, to) else { return }
        do {
            try link(from, to)
        } catch .noSuchFileOrDirectory {
            let directory = String(to[..<(to.lastIndex(of: "/") ?? to.startIndex)])
            guard let status = try? linkStatus(from), status.isRegular,
                  (try? linkStatus(directory.isEmpty ? "." : directory))?.isDirectory == true
            else { throw .noSuchFileOrDirectory }
        }
        try unlink(from)
    }

    /// `renameat2(RENAME_NOREPLACE)`: true when done, false when the file system does not support the flag.
    private static func renameIfNoReplaceSupported(_ from: String, _ to: String) throws(Errno) -> Bool {
        switch once({ renameat2(AT_FDCWD, from, AT_FDCWD, to, dz_rename_noreplace()) }) {
        case .success:
            return true
        case .failure(let error) where error == .invalidArgument || error == .notSupported || error == .noFunction:
            return false
        case .failure(let error):
            throw error
        }
    }

    /// Renames `from` to `to` as one rename of `from`, refusing (`EEXIST`) when `to` exists.
    ///
    /// For a source that other processes may rename too (a claim, a staged result): exactly one of them succeeds,
    /// the others get `ENOENT`, on every file system. Unlike `renameNoReplace`, it never falls back to `link` and
    /// `unlink` (during which a second process could still rename the source): where `RENAME_NOREPLACE` is not
    /// supported (NFS, FUSE), it checks that `to` is free and then renames, so a file created at `to` in that
    /// instant would be replaced. The corresponding C functions are `renameat2`, `lstat` and `rename`.
    public static func renameExclusive(_ from: String, _ to: String) throws(Errno) {
        guard try !renameIfNoReplaceSupported(from, to) else { return }
        if exists(to) { throw Errno.fileExists }
        try rename(from, to)
    }

    /// Makes `to` a new name for the file `from`; `EEXIST` if `to` exists.
    ///
    /// The corresponding C function is `link`.
    public static func link(_ from: String, _ to: String) throws(Errno) {
        _ = try once { Glibc.link(from, to) }.get()
    }

    /// Makes `path` a symbolic link to `target`.
    ///
    /// The corresponding C function is `symlink`.
    public static func symlink(target: String, at path: String) throws(Errno) {
        _ = try once { Glibc.symlink(target, path) }.get()
    }

    /// Removes the name `path`.
    ///
    /// The corresponding C function is `unlink`.
    public static func unlink(_ path: String) throws(Errno) {
        _ = try once { Glibc.unlink(path) }.get()
    }

    /// Removes the empty directory `path`.
    ///
    /// The corresponding C function is `rmdir`.
    public static func removeDirectory(_ path: String) throws(Errno) {
        _ = try once { Glibc.rmdir(path) }.get()
    }

    /// Creates the directory `path`; an existing directory is not an error. With `exactMode` a directory it
    /// creates gets `mode` whatever the process's umask (setgid included, for a directory other users share).
    ///
    /// The corresponding C functions are `mkdir` and `chmod`.
    public static func makeDirectory(_ path: String, mode: mode_t = 0o755, exactMode: Bool = false) throws(Errno) {
        switch once({ Glibc.mkdir(path, mode) }) {
        case .success:
            if exactMode { try setMode(path, mode) }
        case .failure(.fileExists):
            if (try? status(path))?.isDirectory == true { return }
            throw Errno.fileExists
        case .failure(let error): throw error
        }
    }

    /// Creates `path` and every missing parent (each with `mode`, see `makeDirectory`).
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755, exactMode: Bool = false) throws(Errno) {
        if (try? status(path))?.isDirectory == true { return }
        let parent = FilePath(path).removingLastComponent().string
        if !parent.isEmpty, parent != path, parent != "/" {
            try makeDirectories(parent, mode: mode, exactMode: exactMode)
        }
        try makeDirectory(path, mode: mode, exactMode: exactMode)
    }

    /// The status of `path`, following symbolic links.
    ///
    /// The corresponding C function is `stat`.
    public static func status(_ path: String) throws(Errno) -> FileStatus {
        var st = stat()
        _ = try retryingInterrupts { dz_stat(path, &st) }.get()
        return FileStatus(st)
    }

    /// The status of `path` itself, not of what a symbolic link points to.
    ///
    /// The corresponding C function is `lstat`.
    public static func linkStatus(_ path: String) throws(Errno) -> FileStatus {
        var st = stat()
        _ = try retryingInterrupts { dz_lstat(path, &st) }.get()
        return FileStatus(st)
    }

    /// Sets the access and modification times of `path` to now, or to `modified` when given.
    ///
    /// Also updates the change time. The corresponding C function is `utimensat`.
    public static func touch(_ path: String, modified: Timestamp? = nil) throws(Errno) {
        if let modified {
            var times = [modified.timespecValue, modified.timespecValue]
            _ = try retryingInterrupts { utimensat(AT_FDCWD, path, &times, 0) }.get()
        } else {
            _ = try retryingInterrupts { utimensat(AT_FDCWD, path, nil, 0) }.get()
        }
    }

    /// The absolute path of `path` with every symbolic link resolved.
    ///
    /// The corresponding C function is `realpath`.
    public static func resolve(_ path: String) throws(Errno) -> String {
        guard let resolved = realpath(path, nil) else { throw Errno(rawValue: errno) }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The names in directory `path`, without `.` and `..`, in no particular order.
    ///
    /// The corresponding C functions are `opendir`, `readdir` and `closedir`.
    public static func names(in path: String) throws(Errno) -> [String] {
        guard let dir = opendir(path) else { throw Errno(rawValue: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = String(decoding: entryName(entry), as: UTF8.self)
            if name == "." || name == ".." { continue }
            names.append(name)
        }
        return names
    }

    /// How many entries directory `path` holds, without `.` and `..`: no name is copied, so counting a directory
    /// of a million files costs little more than the kernel's listing.
    ///
    /// The corresponding C functions are `opendir`, `readdir` and `closedir`.
    public static func count(in path: String) throws(Errno) -> Int {
        // In C (`dz_count_entries`): a Swift loop over a million entries is several times slower in a debug build.
        let count = dz_count_entries(path)
        guard count >= 0 else { throw Errno(rawValue: errno) }
        return count
    }

    /// The names in directory `path` as the bytes the file system holds, without `.` and `..`: also those that are
    /// not valid UTF-8, which `names(in:)` cannot give back as paths that exist.
    ///
    /// The corresponding C functions are `opendir`, `readdir` and `closedir`.
    public static func rawNames(in path: String) throws(Errno) -> [[UInt8]] {
        guard let dir = opendir(path) else { throw Errno(rawValue: errno) }
        defer { closedir(dir) }
        var names: [[UInt8]] = []
        while let entry = readdir(dir) {
            let name = entryName(entry)
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            names.append(name)
        }
        return names
    }

    /// The name of a directory entry `readdir` returned, read through the pointer up to its NUL. Never
    /// `entry.pointee.d_name`: that copies all 256 bytes of the array, and glibc packs entries by `d_reclen`, so
    /// for a short name in the last entry of its buffer the copy reads past the buffer's end, into a page that
    /// may not be mapped (an agent died of SIGSEGV listing /usr/bin that way).
    static func entryName(_ entry: UnsafeMutablePointer<dirent>) -> [UInt8] {
        let offset = MemoryLayout<dirent>.offset(of: \dirent.d_name)!
        let name = UnsafeRawPointer(entry).advanced(by: offset).assumingMemoryBound(to: UInt8.self)
        // A name is at most 255 bytes and NUL-terminated within the entry.
        var length = 0
        while length < 256, name[length] != 0 { length += 1 }
        return Array(UnsafeBufferPointer(start: name, count: length))
    }

    /// Renames the entry of `directory` whose name is the bytes `name` (which need not be valid UTF-8) to `to`.
    ///
    /// The corresponding C function is `renameat`.
    public static func rename(entry name: [UInt8], in directory: String, to: String) throws(Errno) {
        let fd = try retryingInterrupts { open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }.get()
        defer { _ = Glibc.close(fd) }
        _ = try once {
            (name + [0]).withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { renameat(fd, $0.baseAddress!, AT_FDCWD, to) }
            }
        }.get()
    }

    /// Flushes the directory entries of `path` to stable storage, so that a rename into it survives power loss.
    ///
    /// The corresponding C functions are `open(O_DIRECTORY)` and `fsync`.
    public static func syncDirectory(_ path: String) throws(Errno) {
        let fd = try retryingInterrupts { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }.get()
        defer { _ = Glibc.close(fd) }
        _ = try retryingInterrupts { fsync(fd) }.get()
    }

    /// Space and inodes of the file system holding `path`.
    ///
    /// The corresponding C function is `statvfs`.
    public static func capacity(of path: String) throws(Errno) -> FileSystemCapacity {
        var info = statvfs()
        _ = try retryingInterrupts { dz_statvfs(path, &info) }.get()
        let unit = UInt64(info.f_frsize)
        return FileSystemCapacity(
            bytesTotal: UInt64(info.f_blocks) * unit,
            bytesAvailable: UInt64(info.f_bavail) * unit,
            inodesTotal: UInt64(info.f_files),
            inodesAvailable: UInt64(info.f_favail))
    }
}

/// Space and inodes of one file system.
public struct FileSystemCapacity: Sendable, Equatable, Codable {
    public var bytesTotal: UInt64
    public var bytesAvailable: UInt64
    public var inodesTotal: UInt64
    public var inodesAvailable: UInt64
}

extension FileSystem {
    /// Whether anything (even a dangling symbolic link) has the name `path`.
    public static func exists(_ path: String) -> Bool {
        (try? linkStatus(path)) != nil
    }
}

extension FileSystem {
    /// Sets the permission bits of `path`.
    ///
    /// The corresponding C function is `chmod`.
    public static func setMode(_ path: String, _ mode: mode_t) throws(Errno) {
        _ = try retryingInterrupts { chmod(path, mode) }.get()
    }

    /// Sets the group of `path` itself (a symbolic link is not followed), keeping its owner.
    ///
    /// The corresponding C function is `lchown`.
    public static func setGroup(_ path: String, _ group: gid_t) throws(Errno) {
        _ = try retryingInterrupts { lchown(path, uid_t.max, group) }.get()
    }

    /// Whether this process may create, rename and remove entries in the directory `path` (write and search
    /// permission, as its real user and groups).
    ///
    /// The corresponding C function is `access`.
    public static func isWritableDirectory(_ path: String) -> Bool {
        access(path, W_OK | X_OK) == 0
    }
}
