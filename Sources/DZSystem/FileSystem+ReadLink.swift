#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension FileSystem {
    /// What the symbolic link `path` points to (a `/proc/<pid>/fd/<n>` entry reads `socket:[inode]` for a socket).
    ///
    /// The corresponding C function is `readlink`.
    public static func readLink(_ path: String) throws(Errno) -> String {
        var buffer = [CChar](repeating: 0, count: 4097)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count >= 0 else { throw Errno(rawValue: errno) }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
