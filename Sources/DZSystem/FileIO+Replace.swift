#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension FileIO {
    /// Replaces `path` whole: writes `bytes` to a hidden file beside it (`.<name>.<pid>.tmp`, mode `mode` whatever
    /// the umask, fsynced when `sync`) and renames it over `path`, so that a reader sees the old contents or the new,
    /// never part of either. With `sync` the directory is fsynced after the rename, and an error of that fsync is
    /// thrown: the caller learns the new name may not survive a crash. Nothing temporary is left behind on failure.
    ///
    /// The corresponding C functions are those of `create`, then `rename` and `fsync` of the directory.
    public static func replace(_ path: String, bytes: [UInt8], mode: mode_t, sync: Bool) throws(Errno) {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let temporary = (slash == nil ? "" : directory + "/") + "." + name + ".\(Host.pid).tmp"
        try? FileSystem.unlink(temporary)
        try create(temporary, bytes: bytes, mode: mode, exactMode: true, sync: sync)
        do { try FileSystem.rename(temporary, path) } catch {
            try? FileSystem.unlink(temporary)
            throw error
        }
        if sync { try FileSystem.syncDirectory(directory) }
    }
}
