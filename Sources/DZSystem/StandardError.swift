#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Standard error, for the few messages a library must give when its own channel (the audit log) fails.
public enum StandardError {
    /// Whether standard error is the systemd journal's stream: `JOURNAL_STREAM` holds its `device:inode`.
    public static let isJournal: Bool = {
        guard let value = getenv("JOURNAL_STREAM") else { return false }
        let parts = String(cString: value).split(separator: ":")
        var st = stat()
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]), fstat(2, &st) == 0
        else { return false }
        return UInt64(st.st_dev) == device && UInt64(st.st_ino) == inode
    }()

    /// Writes `text` to file descriptor 2, completing short writes; errors are ignored (there is nowhere else).
    ///
    /// The corresponding C function is `write`.
    public static func write(_ text: String) {
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { raw in
                retryingInterrupts { Glibc.write(2, raw.baseAddress! + written, raw.count - written) }
            }
            guard case .success(let count) = result, count > 0 else { return }
            written += count
        }
    }
}
