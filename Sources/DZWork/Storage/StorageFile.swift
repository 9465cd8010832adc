#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DZSystem

/// An open file that bundle stores read or write a chunk at a time: the one place storage calls `open`, `read`,
/// `write`, `fsync` and `close`. Each method wraps one C function, retries `EINTR` and throws `Errno`.
///
/// A class rather than a noncopyable struct because curl's callbacks reach it through an `Unmanaged` context.
/// Used by one thread at a time.
final class StorageFile: @unchecked Sendable {
    // @unchecked: one thread uses a file at a time; it changes threads only where a thread starts or a
    // continuation resumes, both of which order memory.
    let path: String
    private(set) var descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    /// Opens `path` for reading.
    ///
    /// The corresponding C function is `open(O_RDONLY)`.
    static func openForReading(_ path: String) throws(Errno) -> StorageFile {
        StorageFile(path: path, descriptor: try retrying { open(path, O_RDONLY | O_CLOEXEC) })
    }

    /// Creates `path`, which must not exist, for writing.
    ///
    /// The corresponding C function is `open(O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW)`.
    static func create(_ path: String, mode: mode_t = 0o644) throws(Errno) -> StorageFile {
        StorageFile(path: path, descriptor: try retrying {
            open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        })
    }

    /// The size of a regular file; throws `EISDIR`/`EINVAL` for anything else.
    ///
    /// The corresponding C function is `fstat`.
    func regularFileSize() throws(Errno) -> Int64 {
        var st = stat()
        _ = try retrying { fstat(descriptor, &st) }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw Errno(rawValue: EISDIR) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw Errno(rawValue: EINVAL) }
        return Int64(st.st_size)
    }

    /// Reads up to `buffer.count` bytes at the current offset; 0 means the end of the file.
    ///
    /// The corresponding C function is `read`.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        try retrying { Glibc.read(descriptor, buffer.baseAddress, buffer.count) }
    }

    /// Reads up to `buffer.count` bytes at `offset`, without moving the file offset; 0 means the end of the file.
    ///
    /// The corresponding C function is `pread`.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(Errno) -> Int {
        try retrying { pread(descriptor, buffer.baseAddress, buffer.count, off_t(offset)) }
    }

    /// Writes all of `bytes`.
    ///
    /// The corresponding C function is `write`.
    func write(_ bytes: UnsafeRawBufferPointer) throws(Errno) {
        var written = 0
        while written < bytes.count {
            written += try retrying { Glibc.write(descriptor, bytes.baseAddress! + written, bytes.count - written) }
        }
    }

    /// Writes all of `bytes`.
    func write(_ bytes: [UInt8]) throws(Errno) {
        var failure: Errno?
        bytes.withUnsafeBytes { raw in
            do throws(Errno) { try write(raw) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Flushes the file's data to stable storage.
    ///
    /// The corresponding C function is `fsync`.
    func sync() throws(Errno) {
        _ = try retrying { fsync(descriptor) }
    }

    /// Closes the descriptor, reporting a late write error; never retried, as Linux frees it even on `EINTR`.
    ///
    /// The corresponding C function is `close`.
    func close() throws(Errno) {
        guard descriptor >= 0 else { return }
        let fd = descriptor
        descriptor = -1
        if Glibc.close(fd) < 0 { throw Errno(rawValue: errno) }
    }

    deinit {
        if descriptor >= 0 { _ = Glibc.close(descriptor) }
    }
}

/// Calls `body` until it stops failing with `EINTR` (DZSystem's helper of the same job is internal to it).
private func retrying<T: SignedInteger>(_ body: () -> T) throws(Errno) -> T {
    while true {
        let result = body()
        if result >= 0 { return result }
        if errno != EINTR { throw Errno(rawValue: errno) }
    }
}
