import CArchive
import DZSystem

/// A zstd- (or gzip-) compressed tar read entry by entry. Only what dz writes is accepted: those and the tar family.
final class ArchiveReader {
    let path: String
    private let handle: OpaquePointer

    /// Opens the archive at `path`.
    ///
    /// The corresponding C functions are `archive_read_support_filter_zstd` (and `_gzip`), `archive_read_support_format_tar`
    /// and `archive_read_open_filename`.
    init(opening path: String) throws(BundleArchiveError) {
        guard let handle = archive_read_new() else { preconditionFailure("archive_read_new: out of memory") }
        self.path = path
        self.handle = handle
        archive_read_support_filter_zstd(handle)
        archive_read_support_filter_gzip(handle)
        archive_read_support_format_tar(handle)
        guard archive_read_open_filename(handle, path, 1 << 16) >= ARCHIVE_WARN else {
            throw failure("open the archive")
        }
    }

    deinit { archive_read_free(handle) }

    /// The next entry's header, valid until the next call; `nil` at the end of the archive.
    ///
    /// The corresponding C function is `archive_read_next_header`.
    func next() throws(BundleArchiveError) -> OpaquePointer? {
        var entry: OpaquePointer?
        let status = archive_read_next_header(handle, &entry)
        if status == ARCHIVE_EOF { return nil }
        guard status >= ARCHIVE_WARN, let entry else { throw failure("read an entry header from") }
        return entry
    }

    /// The next block of the current entry's data, where it goes in the file, and its bytes; `nil` at its end.
    ///
    /// The corresponding C function is `archive_read_data_block`.
    func nextBlock() throws(BundleArchiveError) -> (offset: Int64, bytes: UnsafeRawBufferPointer)? {
        var buffer: UnsafeRawPointer?
        var size = 0
        var offset: Int64 = 0
        let status = archive_read_data_block(handle, &buffer, &size, &offset)
        if status == ARCHIVE_EOF { return nil }
        guard status >= ARCHIVE_WARN else { throw failure("read data from") }
        return (offset, UnsafeRawBufferPointer(start: buffer, count: size))
    }

    /// The whole data of the current entry, refusing more than `limit` bytes.
    func readAll(limit: Int) throws(BundleArchiveError) -> [UInt8]? {
        var bytes: [UInt8] = []
        while let block = try nextBlock() {
            guard block.offset == Int64(bytes.count) else { return nil }
            guard bytes.count + block.bytes.count <= limit else { return nil }
            bytes.append(contentsOf: block.bytes)
        }
        return bytes
    }

    private func failure(_ what: String) -> BundleArchiveError {
        .archive(what, path: path, SourceTree.errorString(handle))
    }
}
