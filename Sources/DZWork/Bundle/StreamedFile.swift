#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DZSystem

/// An open file read or written a chunk at a time.
///
/// DZSystem's `FileIO` reads and writes small files whole; a bundle's files and archive can be hundreds of
/// megabytes, so they go through this descriptor instead. Each method wraps one C function and throws `Errno`.
struct StreamedFile: ~Copyable {
    let descriptor: Int32

    private init(descriptor: Int32) { self.descriptor = descriptor }

    /// Opens the file at `path` for reading, refusing to follow a final symbolic link.
    ///
    /// The corresponding C function is `open(O_RDONLY | O_NOFOLLOW)`.
    static func openForReading(_ path: String) throws(Errno) -> StreamedFile {
        StreamedFile(descriptor: try retrying { open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) })
    }

    /// Creates `path`, which must not exist, for writing.
    ///
    /// The corresponding C function is `open(O_WRONLY | O_CREAT | O_EXCL)`.
    static func create(_ path: String, mode: mode_t = 0o644) throws(Errno) -> StreamedFile {
        StreamedFile(descriptor: try retrying {
            open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        })
    }

    /// Reads up to `buffer.count` bytes; 0 means the end of the file.
    ///
    /// The corresponding C function is `read`.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        try retrying { Glibc.read(descriptor, buffer.baseAddress, buffer.count) }
    }

    /// Reads until `buffer` is full or the file ends; returns how many bytes were read.
    func readFully(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        var filled = 0
        while filled < buffer.count {
            let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            if n == 0 { break }
            filled += n
        }
        return filled
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

    /// Flushes the file's data to stable storage.
    ///
    /// The corresponding C function is `fsync`.
    func sync() throws(Errno) {
        _ = try retrying { fsync(descriptor) }
    }

    /// Closes the descriptor, reporting a late write error; never retried, as Linux frees it even on `EINTR`.
    ///
    /// The corresponding C function is `close`.
    consuming func close() throws(Errno) {
        let fd = descriptor
        discard self
        if Glibc.close(fd) < 0 { throw Errno(rawValue: errno) }
    }

    deinit { _ = Glibc.close(descriptor) }
}

/// Calls `body` until it stops failing with `EINTR` (DZSystem's helper of the same job is internal to it).
private func retrying<T: SignedInteger>(_ body: () -> T) throws(Errno) -> T {
    while true {
        let result = body()
        if result >= 0 { return result }
        if errno != EINTR { throw Errno(rawValue: errno) }
    }
}
