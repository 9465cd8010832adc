import CCrypto
import DZSystem

/// A streaming SHA-256 over OpenSSL's EVP interface: feed bytes in any number of pieces, read the hex digest.
///
/// A value type with copy-on-write: a copy taken mid-stream continues independently of the original.
public struct SHA256Digest: Sendable {
    /// The size of the chunks `file(at:)` reads: large enough that system calls cost nothing next to hashing.
    public static let chunkSize = 1 << 20

    private var context: Context

    public init() { context = Context() }

    /// Adds `bytes` to the digest.
    ///
    /// The corresponding C function is `EVP_DigestUpdate`.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        if !isKnownUniquelyReferenced(&context) { context = Context(copying: context) }
        guard bytes.count > 0 else { return }
        let ok = EVP_DigestUpdate(context.pointer, bytes.baseAddress, bytes.count)
        precondition(ok == 1, "EVP_DigestUpdate failed")
    }

    /// Adds `bytes` to the digest.
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The lowercase hex digest of everything added so far; the digest can still be updated afterwards.
    ///
    /// The corresponding C functions are `EVP_MD_CTX_copy_ex` and `EVP_DigestFinal_ex` (on a copy, so that the
    /// running state survives).
    public func finalize() -> String {
        let finished = Context(copying: context)
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        var length: UInt32 = 0
        let ok = EVP_DigestFinal_ex(finished.pointer, &digest, &length)
        precondition(ok == 1 && length == UInt32(SHA256_DIGEST_LENGTH), "EVP_DigestFinal_ex failed")
        return Self.hex(digest)
    }

    /// The SHA-256 of `bytes`, in lowercase hex.
    public static func hash(_ bytes: [UInt8]) -> String {
        var digest = SHA256Digest()
        digest.update(bytes)
        return digest.finalize()
    }

    /// The SHA-256 of the file at `path` (not following a final symbolic link), read 1 MiB at a time.
    public static func file(at path: String) throws(Errno) -> String {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        return try file(at: path, buffer: buffer)
    }

    /// The SHA-256 of the file at `path`, read through the caller's `buffer` (one allocation for many files).
    static func file(at path: String, buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> String {
        let file = try OpenFile.openForReading(path)
        var digest = SHA256Digest()
        while true {
            let n = try file.read(into: buffer)
            if n == 0 { break }
            digest.update(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
        }
        try file.close()
        return digest.finalize()
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `text` looks like a SHA-256 in lowercase hex.
    package static func isHex(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// One `EVP_MD_CTX`, freed with its owner. Only ever mutated while uniquely referenced (see `update`), and
    /// `EVP_MD_CTX_copy_ex` only reads its source, so sharing one between threads is safe.
    private final class Context: @unchecked Sendable {
        let pointer: OpaquePointer

        init() {
            guard let pointer = EVP_MD_CTX_new() else { preconditionFailure("EVP_MD_CTX_new: out of memory") }
            self.pointer = pointer
            let ok = EVP_DigestInit_ex(pointer, EVP_sha256(), nil)
            precondition(ok == 1, "EVP_DigestInit_ex(EVP_sha256()) failed")
        }

        init(copying other: Context) {
            guard let pointer = EVP_MD_CTX_new() else { preconditionFailure("EVP_MD_CTX_new: out of memory") }
            self.pointer = pointer
            let ok = EVP_MD_CTX_copy_ex(pointer, other.pointer)
            precondition(ok == 1, "EVP_MD_CTX_copy_ex failed")
        }

        deinit { EVP_MD_CTX_free(pointer) }
    }
}
