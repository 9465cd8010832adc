#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import SystemPackage

extension FileIO {
    /// Standard input until its end, or until more than `limit` bytes were read: a result longer than `limit`
    /// says that the input is too long (the caller refuses it; the rest is never read).
    ///
    /// The corresponding C function is `read`.
    public static func readStandardInput(limit: Int) throws(Errno) -> [UInt8] {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while bytes.count <= limit {
            let count = try retryingInterrupts {
                buffer.withUnsafeMutableBytes { Glibc.read(STDIN_FILENO, $0.baseAddress!, $0.count) }
            }.get()
            if count == 0 { break }
            bytes += buffer[0..<count]
        }
        return bytes
    }
}
