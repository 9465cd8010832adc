import CArchive

/// One zstd frame being compressed: bytes in, compressed bytes out to `output`, the frame ended by `finish()`.
///
/// A bundle archive is a series of such frames (zstd's format makes concatenated frames one stream, which
/// libarchive, `zstd -d` and `tar --zstd` read as one), so that the part a cached virtualenv makes can be kept
/// compressed and copied into later archives as it is (`ArchiveSegment`). libarchive's raw format with its zstd
/// filter does the compressing: this host's libarchive links libzstd, whose headers dz does not need then.
///
/// The corresponding C functions are `archive_write_set_format_raw`, `archive_write_add_filter_zstd`,
/// `archive_write_data` and `archive_write_close`.
final class ZstdFrame {
    /// The archive the frame is for, in messages.
    let path: String
    private let handle: OpaquePointer
    private let sink: Sink
    private var finished = false

    /// Where compressed bytes go; emptied before the handle is freed, so that nothing reaches an owner that is gone.
    private final class Sink {
        var output: ((UnsafeRawBufferPointer) -> Bool)?
        init(_ output: @escaping (UnsafeRawBufferPointer) -> Bool) { self.output = output }
    }

    /// Starts a frame at zstd `level` for the archive at `path`; `output` takes each piece of compressed output
    /// and says whether it was written (false fails the write or finish in hand).
    init(level: Int, path: String, output: @escaping (UnsafeRawBufferPointer) -> Bool) throws(BundleArchiveError) {
        guard let handle = archive_write_new() else { preconditionFailure("archive_write_new: out of memory") }
        self.path = path
        self.handle = handle
        sink = Sink(output)
        try check(archive_write_set_format_raw(handle), "set the raw format of")
        try check(archive_write_add_filter_zstd(handle), "set zstd compression for")
        try check(archive_write_set_filter_option(handle, "zstd", "compression-level", "\(level)"),
                  "set zstd options for")
        // No padding after the frame's last byte: the next frame follows it directly.
        try check(archive_write_set_bytes_in_last_block(handle, 1), "set the block size of")
        let opened = archive_write_open(handle, Unmanaged.passUnretained(sink).toOpaque(), nil, { _, client, buffer, length in
            let sink = Unmanaged<Sink>.fromOpaque(client!).takeUnretainedValue()
            guard let output = sink.output else { return length }
            return output(UnsafeRawBufferPointer(start: buffer, count: length)) ? length : -1
        }, nil)
        try check(opened, "start a zstd frame for")
        // The raw format takes one regular file's data, here the whole frame's.
        guard let entry = archive_entry_new() else { preconditionFailure("archive_entry_new: out of memory") }
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname(entry, "frame")
        archive_entry_set_filetype(entry, dz_ae_ifreg())
        try check(archive_write_header(handle, entry), "start a zstd frame for")
    }

    deinit {
        sink.output = nil
        archive_write_free(handle)
    }

    /// Compresses `bytes` into the frame.
    func write(_ bytes: UnsafeRawBufferPointer) throws(BundleArchiveError) {
        guard bytes.count > 0 else { return }
        guard archive_write_data(handle, bytes.baseAddress, bytes.count) == bytes.count else {
            throw failure("compress")
        }
    }

    /// Ends the frame: the rest of the compressed output and the frame's end go to `output`.
    func finish() throws(BundleArchiveError) {
        guard !finished else { return }
        finished = true
        try check(archive_write_close(handle), "end a zstd frame for")
    }

    private func check(_ status: Int32, _ what: String) throws(BundleArchiveError) {
        if status < ARCHIVE_WARN { throw failure(what) }
    }

    private func failure(_ what: String) -> BundleArchiveError {
        .archive(what, path: path, SourceTree.errorString(handle))
    }
}
