import DZSystem

/// The SHA-256 of a file about to be uploaded, and of each of its parts, from one read before the upload.
///
/// Knowing them first lets every request carry its real payload hash in `x-amz-content-sha256` (so that S3 itself
/// rejects a body damaged on the way) and the object carry its checksum as `x-amz-meta-sha256` metadata; the
/// bytes actually sent are hashed again on the way and must match, or the file changed during the upload.
struct UploadChecksums: Sendable {
    var size: Int64
    var whole: String
    /// One per part of `partSize` bytes (the last may be shorter); one for the whole file when it is not split.
    var parts: [String]
    var partSize: Int64

    /// Reads `file` from its start to its end, `partSize` bytes to a part.
    static func compute(_ file: OpenFile, partSize: Int64) throws(BundleStoreError) -> UploadChecksums {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var whole = SHA256Digest()
        var part = SHA256Digest()
        var parts: [String] = []
        var size: Int64 = 0
        var inPart: Int64 = 0
        while true {
            let limit = Int(min(Int64(buffer.count), partSize - inPart))
            let target = UnsafeMutableRawBufferPointer(rebasing: buffer[..<limit])
            let count = try fileSystem("read", file.path) { () throws(Errno) in try file.read(into: target, at: size) }
            if count == 0 { break }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[..<count])
            whole.update(chunk)
            part.update(chunk)
            size += Int64(count)
            inPart += Int64(count)
            if inPart == partSize {
                parts.append(part.finalize())
                part = SHA256Digest()
                inPart = 0
            }
        }
        if inPart > 0 || parts.isEmpty { parts.append(part.finalize()) }
        return UploadChecksums(size: size, whole: whole.finalize(), parts: parts, partSize: partSize)
    }

    /// Byte range of part `index` (from 0).
    func range(ofPart index: Int) -> (offset: Int64, length: Int64) {
        let offset = Int64(index) * partSize
        return (offset, min(partSize, size - offset))
    }
}
