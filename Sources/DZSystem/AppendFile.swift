#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import Synchronization
import SystemPackage

/// A file opened for appending: each `append` is one `write(2)` with `O_APPEND`, so lines from several
/// processes on one host never interleave within a line.
public final class AppendFile: Sendable {
    private let fd: Mutex<Int32>
    public let path: String
    private let mode: mode_t

    /// Opens (creating with `mode`) `path` for appending.
    ///
    /// The corresponding C function is `open(O_WRONLY | O_APPEND | O_CREAT)`.
    public init(path: String, mode: mode_t = 0o640) throws(Errno) {
        self.path = path
        self.mode = mode
        let opened = try retryingInterrupts { open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, mode) }.get()
        fd = Mutex(opened)
    }

    deinit { fd.withLock { _ = Glibc.close($0) } }

    /// Appends `bytes` with a single `write(2)`.
    public func append(_ bytes: [UInt8]) throws(Errno) {
        let result: Result<Int, Errno> = fd.withLock { fd in
            bytes.withUnsafeBytes { raw in
                retryingInterrupts { Glibc.write(fd, raw.baseAddress!, raw.count) }
            }
        }
        let written = try result.get()
        if written != bytes.count { throw Errno.ioError }
    }

    /// Closes and opens the path again (after log rotation moved the file away).
    public func reopen() throws(Errno) {
        let path = self.path, mode = self.mode
        let reopened = retryingInterrupts { open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, mode) }
        let newFD = try reopened.get()
        fd.withLock { fd in
            _ = Glibc.close(fd)
            fd = newFD
        }
    }
}
