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
        // A short write (a signal, a full disk) is completed, never started over: the bytes already written stay
        // and only the rest follows, so that a line is never written twice. When the rest cannot be written the
        // error is EIO, whatever the cause: the caller must not write the bytes again.
        let result: Result<Int, Errno> = fd.withLock { fd in
            bytes.withUnsafeBytes { raw in
                var written = 0
                while written < raw.count {
                    let wrote = retryingInterrupts { Glibc.write(fd, raw.baseAddress! + written, raw.count - written) }
                    switch wrote {
                    case .success(let count) where count > 0: written += count
                    case .success: return .failure(Errno.ioError)
                    case .failure(let error): return .failure(written == 0 ? error : Errno.ioError)
                    }
                }
                return .success(written)
            }
        }
        _ = try result.get()
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
