#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DZSpool
import DZSystem

/// The part of a bundle archive that one graft makes (a project's cached virtualenv: thousands of files that are
/// the same in every bundle built from it), kept in a file so that later archives copy it instead of reading,
/// hashing and compressing those files again.
///
/// The file holds the graft's tar entries as one zstd frame of its own (tar entries are whole 512-byte blocks,
/// so they can stand between the frames of the archive's other entries), then the graft's manifest entries as
/// JSON (as the manifest has them, joined by commas: they go into it without being serialized again), then a
/// JSON header saying what the part was made from, then a fixed-length footer:
///
/// ```
/// <frame> <entries> <header> "\ndz-archive-segment 2 <header length> <entries length> <SHA-256 of both>\n"
/// ```
///
/// (lengths as 16 hex digits).
///
/// A segment is used only for the archive it was made for: the same graft name, the same top directory (its
/// device, inode, modification and change times: a virtualenv made again under the same name is a new
/// directory), the same links omitted, files hashed or not. Anything else, or a file that fails its own check (the
/// footer, the hash of the entries and header, the sizes, the frame's SHA-256 as it is copied), is not used, and the
/// caller writes the archive from the files. The file is written under a `.partial-` name, flushed and renamed into
/// place, so a crash leaves no half segment under the real name.
struct ArchiveSegment {
    static let format: Int64 = 2
    private static let footerTag = "\ndz-archive-segment \(format) "
    /// The tag, the two lengths and the SHA-256, each after a space but the first, and a newline.
    static let footerLength = footerTag.utf8.count + 16 + 1 + 16 + 1 + 64 + 1

    /// What a segment must have been made from to be used.
    struct Key: Equatable {
        /// The graft's name in the bundle (`venv`).
        var graft: String
        /// The graft's top directory: device, inode, modification and change times.
        var source: String
        /// The links under the graft left out of the archive, sorted.
        var omitted: [String]
        /// Whether files' SHA-256 are in the manifest entries.
        var hashed: Bool

        init(graft: String, source: String, omitted: some Sequence<String>, hashed: Bool) {
            self.graft = graft
            self.source = source
            self.omitted = omitted.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            self.hashed = hashed
        }

        /// A directory's identity as `source` records it.
        static func source(_ status: FileStatus) -> String {
            "\(status.device):\(status.inode):\(status.modified.nanoseconds):\(status.changed.nanoseconds)"
        }
    }

    let path: String
    let key: Key
    /// The graft's manifest entries, in archive order, its top directory first.
    let entries: [BundleManifest.Entry]
    /// The same serialized (`BundleManifest.Entry.serialized`).
    let entriesJSON: [UInt8]
    /// What the graft left out (sockets, FIFOs), with paths in the bundle.
    let skipped: [BundleManifest.Skipped]
    let frameSize: Int64
    let frameSHA256: String
    private let file: OpenFile

    /// The segment at `path` when it is there, made for `key` and whole by its own checks; nil otherwise (a
    /// segment that is there but fails is removed).
    static func open(_ path: String, for key: Key) -> ArchiveSegment? {
        guard let file = try? OpenFile.openForReading(path) else { return nil }
        guard let segment = try? read(file, path: path), segment.key == key else {
            try? file.close()
            // Made for another tree (a virtualenv made again) or damaged: the next archive makes it afresh.
            try? FileSystem.unlink(path)
            return nil
        }
        return segment
    }

    private init(path: String, key: Key, entries: [BundleManifest.Entry], entriesJSON: [UInt8],
                 skipped: [BundleManifest.Skipped], frameSize: Int64, frameSHA256: String, file: OpenFile)
    {
        self.path = path
        self.key = key
        self.entries = entries
        self.entriesJSON = entriesJSON
        self.skipped = skipped
        self.frameSize = frameSize
        self.frameSHA256 = frameSHA256
        self.file = file
    }

    private struct Damaged: Error {}

    private static func read(_ file: OpenFile, path: String) throws -> ArchiveSegment {
        let size = try file.regularFileSize()
        guard size >= footerLength else { throw Damaged() }
        let footer = try readExactly(file, count: footerLength, at: size - Int64(footerLength))
        let text = String(decoding: footer, as: UTF8.self)
        guard text.hasPrefix(footerTag), text.hasSuffix("\n") else { throw Damaged() }
        let fields = text.dropFirst(footerTag.count).dropLast().split(separator: " ", omittingEmptySubsequences: false)
        guard fields.count == 3, fields[0].count == 16, fields[1].count == 16,
              let headerLength = Int64(fields[0], radix: 16), let entriesLength = Int64(fields[1], radix: 16),
              headerLength > 0, headerLength <= BundleManifest.sizeLimit, entriesLength > 0,
              entriesLength <= BundleManifest.sizeLimit, size - Int64(footerLength) >= headerLength + entriesLength
        else { throw Damaged() }
        let entriesOffset = size - Int64(footerLength) - headerLength - entriesLength
        let both = try readExactly(file, count: Int(entriesLength + headerLength), at: entriesOffset)
        guard SHA256Digest.hash(both) == fields[2] else { throw Damaged() }
        let entriesJSON = Array(both[..<Int(entriesLength)])
        let header = Array(both[Int(entriesLength)...])
        guard let object = try JSONValue.parse(header).objectValue, object["format"]?.intValue == format,
              let graft = object["graft"]?.stringValue, let source = object["source"]?.stringValue,
              let omitted = object["omitted"]?.arrayValue?.compactMap(\.stringValue),
              object["hashed"] == .bool(true) || object["hashed"] == .bool(false),
              let skippedValues = object["skipped"]?.arrayValue,
              let frameSize = object["frame_size"]?.intValue, frameSize == entriesOffset,
              let frameSHA256 = object["frame_sha256"]?.stringValue, SHA256Digest.isHex(frameSHA256)
        else { throw Damaged() }
        guard let fileValues = try JSONValue.parse([UInt8(ascii: "[")] + entriesJSON + [UInt8(ascii: "]")]).arrayValue
        else { throw Damaged() }
        var entries: [BundleManifest.Entry] = []
        entries.reserveCapacity(fileValues.count)
        let prefix = graft + "/"
        for value in fileValues {
            // The agent's own entries, as the hash above shows: read without checking each path again (extraction
            // checks every entry of the manifest it reads).
            guard case .object(let fields) = value, let path = fields["path"]?.stringValue,
                  let kind = fields["kind"]?.stringValue.flatMap(BundleManifest.Entry.Kind.init(rawValue:)),
                  let size = fields["size"]?.intValue
            else { throw Damaged() }
            let entry = BundleManifest.Entry(path: path, kind: kind, size: size,
                                             executable: fields["executable"] == .bool(true),
                                             sha256: fields["sha256"]?.stringValue,
                                             target: fields["target"]?.stringValue)
            // The graft's top directory, then only what is under it.
            let fits = entries.isEmpty ? entry.path == graft && entry.kind == .directory
                : entry.path.hasPrefix(prefix)
            guard fits else { throw Damaged() }
            entries.append(entry)
        }
        guard !entries.isEmpty else { throw Damaged() }
        var skipped: [BundleManifest.Skipped] = []
        for value in skippedValues {
            guard let path = value["path"]?.stringValue, path.hasPrefix(graft + "/"),
                  let reason = value["reason"]?.stringValue
            else { throw Damaged() }
            skipped.append(.init(path: path, reason: reason))
        }
        let key = Key(graft: graft, source: source, omitted: omitted, hashed: object["hashed"] == .bool(true))
        return ArchiveSegment(path: path, key: key, entries: entries, entriesJSON: entriesJSON, skipped: skipped,
                              frameSize: frameSize, frameSHA256: frameSHA256, file: file)
    }

    private static func readExactly(_ file: OpenFile, count: Int, at offset: Int64) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        try bytes.withUnsafeMutableBytes { (raw: UnsafeMutableRawBufferPointer) throws in
            while done < count {
                let n = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[done...]),
                                      at: offset + Int64(done))
                guard n > 0 else { throw Damaged() }
                done += n
            }
        }
        return bytes
    }

    /// The entries as the items `BundleArchive.check` counts and checks (modes and times are the frame's business).
    var items: [SourceTree.Item] {
        entries.map { .init(path: $0.path, kind: $0.kind, mode: 0, size: $0.size, modified: 0, target: $0.target) }
    }

    /// Gives the frame to `write` a `buffer` at a time; returns whether it was whole (its size and SHA-256 the
    /// header's). When it was not, what `write` got must not be used.
    func copyFrame(buffer: UnsafeMutableRawBufferPointer,
                   to write: (UnsafeRawBufferPointer) throws(BundleArchiveError) -> Void)
        throws(BundleArchiveError) -> Bool
    {
        var digest = SHA256Digest()
        var offset: Int64 = 0
        while offset < frameSize {
            let want = Int(min(Int64(buffer.count), frameSize - offset))
            let n: Int
            do {
                n = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<want]), at: offset)
            } catch {
                return false
            }
            guard n > 0 else { return false }
            let piece = UnsafeRawBufferPointer(rebasing: buffer[..<n])
            digest.update(piece)
            try write(piece)
            offset += Int64(n)
        }
        return digest.finalize() == frameSHA256
    }

    /// Closes the file; a segment copied from is closed by the archive that used it.
    func close() { try? file.close() }

    /// Removes the segment's file (it failed its check while being copied).
    func discard() {
        close()
        try? FileSystem.unlink(path)
    }

    /// A segment being written while an archive is: the frame first, as the archive's writer makes it, then
    /// `finish` adds the header and footer and renames it into place.
    final class Maker {
        let path: String
        let partial: String
        let file: OpenFile

        /// Starts `<path>.partial-<pid>-<random>` (mode 0600); nil when it cannot be made (the archive goes on
        /// without keeping its segment).
        init?(path: String) {
            // Two builds of one agent may make the same segment at once: each its own partial file.
            partial = path + ".partial-\(getpid())-" + String(UInt64.random(in: .min ... .max), radix: 16)
            guard let file = try? OpenFile.create(partial, mode: 0o600) else { return nil }
            self.path = path
            self.file = file
        }

        /// Ends the segment with its header and footer and renames it into place; a failure removes it (the
        /// archive it came with is whole either way).
        func finish(key: Key, entriesJSON: [UInt8], skipped: [BundleManifest.Skipped], frameSize: Int64,
                    frameSHA256: String)
        {
            let header = JSONValue.object([
                "format": .int(ArchiveSegment.format),
                "graft": .string(key.graft),
                "source": .string(key.source),
                "omitted": .array(key.omitted.map(JSONValue.string)),
                "hashed": .bool(key.hashed),
                "skipped": .array(skipped.map { .object(["path": .string($0.path), "reason": .string($0.reason)]) }),
                "frame_size": .int(frameSize),
                "frame_sha256": .string(frameSHA256),
            ]).serialized()
            func hex16(_ count: Int) -> String {
                let digits = String(count, radix: 16)
                return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
            }
            var digest = SHA256Digest()
            digest.update(entriesJSON)
            digest.update(header)
            let footer = ArchiveSegment.footerTag + hex16(header.count) + " " + hex16(entriesJSON.count) + " "
                + digest.finalize() + "\n"
            do throws(Errno) {
                try file.write(entriesJSON)
                try file.write(header)
                try file.write(Array(footer.utf8))
                try file.sync()
                try file.close()
                try FileSystem.rename(partial, path)
                try FileSystem.syncDirectory(BundleArchive.parent(of: path))
            } catch {
                abandon()
            }
        }

        /// Removes the partial segment.
        func abandon() {
            try? file.close()
            try? FileSystem.unlink(partial)
        }
    }
}
