#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// An exclusive advisory lock on a file, held while this object lives: one coordinator per zoomdb.
public final class FileLock: Sendable {
    private let fd: Int32
    public let path: String

    /// Takes the lock on `path` (created if missing) without waiting; `EWOULDBLOCK` if another process holds it.
    ///
    /// The corresponding C functions are `open` and `flock(LOCK_EX | LOCK_NB)`.
    public convenience init(path: String) throws(Errno) {
        try self.init(path: path, waiting: false)
    }

    /// Takes the lock on `path` (created if missing); with `waiting`, blocks until
    /// the holder releases it or dies (the kernel releases a dead process's locks, not a stopped one's).
    ///
    /// The corresponding C functions are `open` and `flock(LOCK_EX)`, with `LOCK_NB` unless `waiting`.
    public init(path: String, waiting: Bool) throws(Errno) {
        self.path = path
        let opened = try retryingInterrupts { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }.get()
        switch retryingInterrupts({ flock(opened, waiting ? LOCK_EX : LOCK_EX | LOCK_NB) }) {
        case .success:
            fd = opened
        case .failure(let error):
            _ = Glibc.close(opened)
            throw error
        }
    }

    /// Releases the lock now, even if a child process still holds a copy of the descriptor (flock locks belong
    /// to the open file description, which a spawned child shares until its exec).
    ///
    /// The corresponding C function is `flock(LOCK_UN)`.
    public func unlock() {
        _ = flock(fd, LOCK_UN)
    }

    deinit {
        _ = flock(fd, LOCK_UN)
        _ = Glibc.close(fd)
    }
}
