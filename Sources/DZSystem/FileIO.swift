#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import SystemPackage

/// Whole-file reads and writes of the small files the spool is made of.
public enum FileIO {
    /// What a bounded read found.
    public enum ReadOutcome: Sendable, Equatable {
        case contents([UInt8], FileStatus)
        /// The file is larger than the limit; nothing was returned.
        case tooLarge(size: Int64)
        /// The path is not a regular file.
        case notRegular(FileStatus.Kind)
    }

    /// Reads the regular file at `path` if it holds at most `limit` bytes, never following a final symbolic link.
    ///
    /// The corresponding C functions are `open(O_NOFOLLOW)`, `fstat` and `read`.
    public static func read(_ path: String, limit: Int) throws(Errno) -> ReadOutcome {
        let fd = try retryingInterrupts { open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK) }.get()
        defer { _ = Glibc.close(fd) }
        var st = stat()
        _ = try retryingInterrupts { fstat(fd, &st) }.get()
        let status = FileStatus(st)
        guard status.isRegular else { return .notRegular(status.kind) }
        if status.size > Int64(limit) { return .tooLarge(size: status.size) }
        // Sized from fstat (one byte more, to notice a file that grew), never the whole limit: zeroing a
        // 1 MiB buffer per task would cost more than the rest of the claim.
        var buffer = [UInt8](repeating: 0, count: min(Int(status.size), limit) + 1)
        var filled = 0
        while filled < buffer.count {
            let n = try buffer.withUnsafeMutableBytes { raw in
                retryingInterrupts { Glibc.read(fd, raw.baseAddress! + filled, raw.count - filled) }
            }.get()
            if n == 0 { break }
            filled += n
            if filled == buffer.count, buffer.count <= limit {
                buffer.append(contentsOf: [UInt8](repeating: 0, count: min(buffer.count, limit + 1 - buffer.count)))
            }
        }
        if filled > limit { return .tooLarge(size: Int64(filled)) }
        return .contents(Array(buffer[0..<filled]), status)
    }

    /// Reads a whole regular file of any size (for logs and reports, not for task files).
    public static func readAll(_ path: String) throws(Errno) -> [UInt8] {
        let fd = try retryingInterrupts { open(path, O_RDONLY | O_CLOEXEC) }.get()
        defer { _ = Glibc.close(fd) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = try chunk.withUnsafeMutableBytes { raw in
                retryingInterrupts { Glibc.read(fd, raw.baseAddress!, raw.count) }
            }.get()
            if n == 0 { break }
            result.append(contentsOf: chunk[0..<n])
        }
        return result
    }

    /// Creates `path` (which must not exist), writes `bytes`, optionally fsyncs, and closes it. With `exactMode`
    /// the file gets `mode` whatever the process's umask (a file other users share, such as the spool's). When a
    /// write, the fsync or the close fails (a full disk), the partial file is removed before the error is thrown:
    /// nothing half written is left behind.
    ///
    /// The corresponding C functions are `open(O_CREAT | O_EXCL)`, `fchmod`, `write`, `fsync`, `close` and
    /// `unlink`.
    public static func create(_ path: String, bytes: [UInt8], mode: mode_t = 0o600, exactMode: Bool = false,
                              sync: Bool) throws(Errno)
    {
        let fd = try retryingInterrupts { open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode) }.get()
        do {
            if exactMode { _ = try retryingInterrupts { fchmod(fd, mode) }.get() }
            try writeAll(fd, bytes)
            if sync { _ = try retryingInterrupts { fsync(fd) }.get() }
        } catch {
            _ = Glibc.close(fd)
            _ = Glibc.unlink(path)
            throw error
        }
        switch once({ Glibc.close(fd) }) {
        case .success: return
        case .failure(let error):
            _ = Glibc.unlink(path)
            throw error
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(Errno) {
        var written = 0
        while written < bytes.count {
            let n = try bytes.withUnsafeBytes { raw in
                retryingInterrupts { Glibc.write(fd, raw.baseAddress! + written, raw.count - written) }
            }.get()
            written += n
        }
    }
}
