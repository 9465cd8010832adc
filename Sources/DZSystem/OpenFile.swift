#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// An open file read or written a chunk at a time: bundle archives and the files in them, bundle store transfers
/// (`FileIO` reads and writes small files whole; these can be hundreds of megabytes). Each method wraps one C
/// function, retries `EINTR` and throws `Errno`.
///
/// A class rather than a noncopyable struct because curl's callbacks reach it through an `Unmanaged` context.
/// Used by one thread at a time.
public final class OpenFile: @unchecked Sendable {
    // @unchecked: one thread uses a file at a time; it changes threads only where a thread starts or a
    // continuation resumes, both of which order memory.
    public let path: String
    public private(set) var descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    /// Opens `path` for reading, refusing to follow a final symbolic link.
    ///
    /// The corresponding C function is `open(O_RDONLY | O_NOFOLLOW)`.
    public static func openForReading(_ path: String) throws(Errno) -> OpenFile {
        OpenFile(path: path, descriptor: try retryingInterrupts { open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }.get())
    }

    /// Creates `path`, which must not exist, for writing.
    ///
    /// The corresponding C function is `open(O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW)`.
    public static func create(_ path: String, mode: mode_t = 0o644) throws(Errno) -> OpenFile {
        OpenFile(path: path, descriptor: try retryingInterrupts {
            open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        }.get())
    }

    /// The size of a regular file; throws `EISDIR`/`EINVAL` for anything else.
    ///
    /// The corresponding C function is `fstat`.
    public func regularFileSize() throws(Errno) -> Int64 {
        var st = stat()
        _ = try retryingInterrupts { fstat(descriptor, &st) }.get()
        if (st.st_mode & S_IFMT) == S_IFDIR { throw Errno(rawValue: EISDIR) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw Errno(rawValue: EINVAL) }
        return Int64(st.st_size)
    }

    /// The status of the open file itself (whatever its path names now).
    ///
    /// The corresponding C function is `fstat`.
    public func status() throws(Errno) -> FileStatus {
        var st = stat()
        _ = try retryingInterrupts { fstat(descriptor, &st) }.get()
        return FileStatus(st)
    }

    /// Reads up to `buffer.count` bytes at the current offset; 0 means the end of the file.
    ///
    /// The corresponding C function is `read`.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        try retryingInterrupts { Glibc.read(descriptor, buffer.baseAddress, buffer.count) }.get()
    }

    /// Reads up to `buffer.count` bytes at `offset`, without moving the file offset; 0 means the end of the file.
    ///
    /// The corresponding C function is `pread`.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(Errno) -> Int {
        try retryingInterrupts { pread(descriptor, buffer.baseAddress, buffer.count, off_t(offset)) }.get()
    }

    /// Writes all of `bytes`.
    ///
    /// The corresponding C function is `write`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(Errno) {
        var written = 0
        while written < bytes.count {
            written += try retryingInterrupts {
                Glibc.write(descriptor, bytes.baseAddress! + written, bytes.count - written)
            }.get()
        }
    }

    /// Writes all of `bytes`.
    public func write(_ bytes: [UInt8]) throws(Errno) {
        var failure: Errno?
        bytes.withUnsafeBytes { raw in
            do throws(Errno) { try write(raw) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Flushes the file's data to stable storage.
    ///
    /// The corresponding C function is `fsync`.
    public func sync() throws(Errno) {
        _ = try retryingInterrupts { fsync(descriptor) }.get()
    }

    /// Closes the descriptor, reporting a late write error; never retried, as Linux frees it even on `EINTR`.
    ///
    /// The corresponding C function is `close`.
    public func close() throws(Errno) {
        guard descriptor >= 0 else { return }
        let fd = descriptor
        descriptor = -1
        if Glibc.close(fd) < 0 { throw Errno(rawValue: errno) }
    }

    deinit {
        if descriptor >= 0 { _ = Glibc.close(descriptor) }
    }
}
