import CArchive
import DZSystem

/// A zstd-compressed pax tar written to a new file, hashed and counted on its way to the disk, so that the
/// archive's SHA-256 needs no second read.
///
/// The tar is compressed as a series of zstd frames (`ZstdFrame`; one stream to any zstd reader): a frame ends
/// where a segment begins or ends (`beginSegment`, `endSegment`, `append`) and at the tar's end, whose two zero
/// blocks are a frame of their own. A segment's frame can so be kept and copied whole into a later archive.
final class ArchiveWriter {
    let path: String
    private let handle: OpaquePointer
    private let output: Output

    /// Creates `path`, which must not exist, and starts the archive. The file is the writer's alone (mode 0600): a
    /// bundle holds a project's code, which no other local user may read.
    ///
    /// The corresponding C functions are `archive_write_set_format_pax_restricted`,
    /// `archive_write_set_bytes_per_block` and `archive_write_open`.
    init(creating path: String) throws(BundleArchiveError) {
        let file: OpenFile
        do {
            file = try OpenFile.create(path, mode: 0o600)
        } catch {
            throw .system("create", path: path, error)
        }
        guard let handle = archive_write_new() else { preconditionFailure("archive_write_new: out of memory") }
        self.path = path
        self.handle = handle
        self.output = Output(file, path: path)
        // pax_restricted writes plain ustar headers and adds pax extended headers only for what ustar cannot hold
        // (long or non-ASCII names, big files), so any tar reads the result.
        try check(archive_write_set_format_pax_restricted(handle), "set the tar format of")
        // No blocking: every byte of the tar reaches `Output` as it is written, so that a frame can end right
        // after any entry (libarchive would otherwise hold back up to 10 KiB).
        try check(archive_write_set_bytes_per_block(handle, 0), "set the block size of")
        let opened = archive_write_open(handle, Unmanaged.passUnretained(output).toOpaque(), nil, { _, client, buffer, length in
            let output = Unmanaged<Output>.fromOpaque(client!).takeUnretainedValue()
            return output.tar(UnsafeRawBufferPointer(start: buffer, count: length))
        }, nil)
        try check(opened, "start the archive")
    }

    deinit { archive_write_free(handle) }

    /// Adds a regular file whose whole content is `bytes` (the manifest).
    func addFile(_ name: String, bytes: [UInt8], mode: UInt32, modified: Int) throws(BundleArchiveError) {
        let entry = Entry(name, type: dz_ae_ifreg(), mode: mode, size: Int64(bytes.count), modified: modified)
        try check(archive_write_header(handle, entry.pointer), "add \(name) to")
        let written = bytes.withUnsafeBytes { archive_write_data(handle, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw failure("write \(name) into") }
    }

    /// Adds `item`, reading a file's content from `source` a `buffer` at a time.
    func add(_ item: SourceTree.Item, from source: String, buffer: UnsafeMutableRawBufferPointer)
        throws(BundleArchiveError)
    {
        switch item.kind {
        case .directory:
            let entry = Entry(item.path, type: dz_ae_ifdir(), mode: item.mode, size: 0, modified: item.modified)
            try check(archive_write_header(handle, entry.pointer), "add \(item.path) to")
        case .symlink:
            let entry = Entry(item.path, type: dz_ae_iflnk(), mode: 0o777, size: 0, modified: item.modified)
            archive_entry_set_symlink_utf8(entry.pointer, item.target ?? "")
            try check(archive_write_header(handle, entry.pointer), "add \(item.path) to")
        case .file:
            try addContents(of: item, from: source, buffer: buffer)
        }
    }

    private func addContents(of item: SourceTree.Item, from source: String, buffer: UnsafeMutableRawBufferPointer)
        throws(BundleArchiveError)
    {
        let file: OpenFile
        do {
            file = try OpenFile.openForReading(source)
        } catch {
            throw .system("open", path: source, error)
        }
        let entry = Entry(item.path, type: dz_ae_ifreg(), mode: item.mode, size: item.size, modified: item.modified)
        try check(archive_write_header(handle, entry.pointer), "add \(item.path) to")
        var total: Int64 = 0
        while true {
            let n: Int
            do {
                n = try file.read(into: buffer)
            } catch {
                throw .system("read", path: source, error)
            }
            if n == 0 { break }
            total += Int64(n)
            // The header promised `item.size` bytes; a file still being written must not be archived half-done.
            guard total <= item.size else {
                throw .changedWhileArchiving(path: source, expected: item.size, found: total)
            }
            guard archive_write_data(handle, buffer.baseAddress, n) == n else {
                throw failure("write \(item.path) into")
            }
        }
        guard total == item.size else { throw .changedWhileArchiving(path: source, expected: item.size, found: total) }
    }

    /// Ends the frame in hand after the entries added so far; what is added next begins a new frame, which also
    /// goes to `copy` (a segment being made) until `endSegment`. A failure to write `copy` only ends the copying.
    func beginSegment(copyingTo copy: OpenFile?) throws(BundleArchiveError) {
        try endFrame()
        output.copy = copy.map(Output.Copy.init)
    }

    /// Ends the segment's frame; returns its size and SHA-256 when it was copied whole, else nil.
    func endSegment() throws(BundleArchiveError) -> (size: Int64, sha256: String)? {
        try endFrame()
        defer { output.copy = nil }
        guard let copy = output.copy, !copy.failed else { return nil }
        return (copy.size, copy.digest.finalize())
    }

    /// Ends the frame in hand and appends `segment`'s frame as it is; returns false when the segment failed its
    /// check while being copied (the archive must then be written again without it).
    func append(_ segment: ArchiveSegment, buffer: UnsafeMutableRawBufferPointer) throws(BundleArchiveError) -> Bool {
        try endFrame()
        return try segment.copyFrame(buffer: buffer) { bytes throws(BundleArchiveError) in
            guard output.compressed(bytes) else { throw failure("write") }
        }
    }

    /// Ends the current entry (the tar pads it to its 512-byte block) and the zstd frame it is in.
    ///
    /// The corresponding C function is `archive_write_finish_entry`.
    private func endFrame() throws(BundleArchiveError) {
        try check(archive_write_finish_entry(handle), "end an entry of")
        try output.endFrame()
    }

    /// Ends the archive, flushes it to stable storage and closes it; returns its SHA-256 and size.
    ///
    /// The corresponding C functions are `archive_write_close`, `fsync` and `close`.
    func finish() throws(BundleArchiveError) -> (sha256: String, size: Int64) {
        // The tar's end (two zero blocks) starts a frame of its own after a segment.
        try check(archive_write_close(handle), "finish")
        try output.endFrame()
        do {
            try output.file?.sync()
            try output.file?.close()
            output.file = nil
        } catch {
            throw .system("write", path: path, error)
        }
        return (output.digest.finalize(), output.size)
    }

    private func check(_ status: Int32, _ what: String) throws(BundleArchiveError) {
        if status < ARCHIVE_WARN { throw failure(what) }
    }

    /// The error for a failed libarchive call: the output's own error when that is what failed.
    private func failure(_ what: String) -> BundleArchiveError {
        if let error = output.error { return error }
        return .archive(what, path: path, SourceTree.errorString(handle))
    }

    /// Where the tar goes: compressed frame by frame into the file, the digest and the count (and a segment's
    /// copy).
    private final class Output {
        let path: String
        var file: OpenFile?
        var digest = SHA256Digest()
        var size: Int64 = 0
        var error: BundleArchiveError?
        /// The frame being compressed; made when the first byte for it comes.
        var frame: ZstdFrame?
        var copy: Copy?

        /// A segment's frame, copied as it is written.
        final class Copy {
            let file: OpenFile
            var digest = SHA256Digest()
            var size: Int64 = 0
            var failed = false

            init(_ file: OpenFile) { self.file = file }
        }

        init(_ file: OpenFile, path: String) {
            self.file = file
            self.path = path
        }

        /// Takes `bytes` of the tar (libarchive's write callback): -1 on failure, with `error` set.
        func tar(_ bytes: UnsafeRawBufferPointer) -> Int {
            do throws(BundleArchiveError) {
                if frame == nil {
                    // zstd at level 3: measured on 2,000 files / 39 MB, about 6 times less CPU than gzip -6 and a
                    // slightly smaller archive (see the issue 5 note); zstd frames carry no time, so output stays
                    // reproducible.
                    frame = try ZstdFrame(level: 3, path: path) { [unowned self] in self.compressed($0) }
                }
                try frame?.write(bytes)
                return bytes.count
            } catch {
                if self.error == nil { self.error = error }
                return -1
            }
        }

        /// Ends the frame in hand, if any.
        func endFrame() throws(BundleArchiveError) {
            guard let frame else { return }
            self.frame = nil
            do {
                try frame.finish()
            } catch {
                throw self.error ?? error
            }
        }

        /// Writes compressed bytes to the file (and the copy), hashing and counting them.
        func compressed(_ bytes: UnsafeRawBufferPointer) -> Bool {
            do {
                try file?.write(bytes)
            } catch {
                if self.error == nil { self.error = .system("write", path: path, error) }
                return false
            }
            digest.update(bytes)
            size += Int64(bytes.count)
            if let copy, !copy.failed {
                do {
                    try copy.file.write(bytes)
                    copy.digest.update(bytes)
                    copy.size += Int64(bytes.count)
                } catch {
                    copy.failed = true
                }
            }
            return true
        }
    }

    /// One `archive_entry` with dz's fixed fields: owner and group 0 without names, no access or change times.
    private final class Entry {
        let pointer: OpaquePointer

        init(_ path: String, type: UInt32, mode: UInt32, size: Int64, modified: Int) {
            guard let pointer = archive_entry_new() else { preconditionFailure("archive_entry_new: out of memory") }
            self.pointer = pointer
            archive_entry_set_pathname_utf8(pointer, path)
            archive_entry_set_filetype(pointer, type)
            archive_entry_set_perm(pointer, mode)
            archive_entry_set_size(pointer, size)
            archive_entry_set_mtime(pointer, modified, 0)
            archive_entry_set_uid(pointer, 0)
            archive_entry_set_gid(pointer, 0)
        }

        deinit { archive_entry_free(pointer) }
    }
}
