#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Kernel control files (cgroup limits such as `memory.max`, `pids.max`): written whole in one `write`, as the
/// kernel reads a value, never created.
public enum ControlFile {
    /// Writes `text` to the existing file `path` (a final symbolic link is refused).
    ///
    /// The corresponding C functions are `open(O_WRONLY | O_NOFOLLOW)`, `write` and `close`.
    public static func write(_ path: String, _ text: String) throws(Errno) {
        let fd = try retryingInterrupts { open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC) }.get()
        defer { _ = Glibc.close(fd) }
        try FileIO.writeAll(fd, Array(text.utf8))
    }
}
