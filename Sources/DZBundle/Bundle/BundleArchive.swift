#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import CArchive
import DZSystem

/// A bundle as one `.tar.zst`: written from a build directory, read back, and extracted safely.
///
/// On disk: `<archive>` (a zstd-compressed pax tar whose first entry is `MANIFEST.json`, then every entry in
/// `BundleManifest.files` order) and `<archive>.manifest.json` beside it. Both are written under a
/// `.partial-<pid>` name and renamed into place after an fsync, the archive first: a manifest beside an archive
/// means the archive is complete. A crash leaves only `.partial-<pid>` files, which the next run with that pid
/// replaces.
public enum BundleArchive {
    /// What is appended to an archive's path to name the manifest beside it.
    public static let manifestSuffix = ".manifest.json"

    /// The path of the manifest kept beside the archive at `archivePath`.
    public static func manifestPath(for archivePath: String) -> String { archivePath + manifestSuffix }

    /// Archives everything under `directory` into `archivePath` (replacing an archive of that name) and writes the
    /// manifest beside it.
    ///
    /// Regular files, directories and symbolic links (kept as links, never followed) are archived with paths
    /// relative to `directory`, in the order `SourceTree.scan` gives; sockets, FIFOs and device files are left out
    /// and listed in the manifest's `skipped`. A symbolic link that would lead out of the bundle (absolute, or
    /// climbing above its top: extraction refuses those) fails the archive with `.linkLeavesBundle`, naming it,
    /// and a tree past `limits` fails it with `.tooLarge` or `.tooManyEntries`, before anything is written. Files
    /// are opened with `O_NOFOLLOW`: the tree must be still while it is archived (a file that changes size fails
    /// the archive). Owners are not kept (every entry is owned by 0, without names); permissions
    /// lose setuid, setgid, sticky and group or other write. Files are read and compressed 1 MiB at a time.
    ///
    /// - Parameters:
    ///   - manifest: the bundle's name, project, revision and versions; its files, skipped entries and archive
    ///     fields are filled in here.
    ///   - hashFiles: whether to record each file's SHA-256 in the manifest. The manifest is the archive's first
    ///     entry, so the hashes take one more read of every file before archiving begins.
    ///   - limits: the most bytes (of files) and names the tree may hold.
    ///   - omittingLinks: paths (relative to `directory`) left out of the archive when they are symbolic links: a
    ///     build's virtualenv links to the host's interpreter (`Interpreter`).
    ///   - grafts: top-level names of the bundle taken from another directory instead of from `directory`: `venv`
    ///     from the project's cached virtualenv, archived as if it were `<directory>/venv` (whatever is at that name
    ///     in `directory` is left out; the graft's own top directory gives the entry's mode and time).
    ///   - segments: for some of `grafts`, the file that keeps the graft's part of the archive (`ArchiveSegment`):
    ///     when it holds the part made from this very directory, its manifest entries are used and its
    ///     compressed entries copied as they are, none of the graft's files read; else the archive is written
    ///     from the files and the part kept there for the next archive. The graft must not change (a cached
    ///     virtualenv never does) and the file must be somewhere only the caller writes.
    /// - Returns: the manifest as written beside the archive, with the archive's SHA-256 and size.
    @discardableResult
    public static func create(from directory: String, to archivePath: String, manifest: BundleManifest,
                              hashFiles: Bool = true, limits: Limits = .none, omittingLinks: Set<String> = [],
                              grafts: [String: String] = [:], segments: [String: String] = [:])
        throws(BundleArchiveError) -> BundleManifest
    {
        try ArchiveLocale.utf8 { () throws(BundleArchiveError) in
            let request = Request(directory: directory, archivePath: archivePath, manifest: manifest,
                                  hashFiles: hashFiles, limits: limits, omittingLinks: omittingLinks, grafts: grafts,
                                  segments: segments)
            if let made = try createArchive(request, usingSegments: true) { return made }
            // A kept segment failed its check while it was copied: it is gone; write the archive from the files.
            return try createArchive(request, usingSegments: false)!
        }
    }

    private struct Request {
        var directory: String
        var archivePath: String
        var manifest: BundleManifest
        var hashFiles: Bool
        var limits: Limits
        var omittingLinks: Set<String>
        var grafts: [String: String]
        var segments: [String: String]
    }

    /// A graft with a segment file: where its entries are in the archive's items, and whether its part is copied
    /// from the segment or made (and kept) now.
    private struct GraftPart {
        var name: String
        var key: ArchiveSegment.Key
        var range: Range<Int>
        var kept: ArchiveSegment?
    }

    /// Writes the archive; nil when a kept segment failed its check while it was copied (it is removed, and the
    /// archive is not written).
    private static func createArchive(_ request: Request, usingSegments: Bool)
        throws(BundleArchiveError) -> BundleManifest?
    {
        let (directory, archivePath) = (request.directory, request.archivePath)
        let root = try resolve(directory)
        guard (try? FileSystem.status(root))?.isDirectory == true else { throw .notADirectory(directory) }
        let archiveParent = try resolve(parent(of: archivePath))
        if root == "/" || archiveParent == root || archiveParent.hasPrefix(root + "/") {
            throw .archiveInsideSource(archive: archivePath, directory: directory)
        }

        var (items, skipped) = try SourceTree.scan(root)
        // Where each item's content is read: under `root`, or under its graft's directory.
        var sources: [String: String] = [:]
        var parts: [GraftPart] = []
        for (name, graft) in request.grafts.sorted(by: { $0.key < $1.key }) {
            let graftRoot = try resolve(graft)
            guard !name.isEmpty, !name.contains("/"), name != BundleManifest.fileName,
                  let top = try SourceTree.item(at: graftRoot), top.kind == .directory
            else { throw .notADirectory(graft) }
            items.removeAll { $0.path == name || $0.path.hasPrefix(name + "/") }
            skipped.removeAll { $0.path == name || $0.path.hasPrefix(name + "/") }
            var grafted: [SourceTree.Item]
            var part: GraftPart?
            if let segmentPath = request.segments[name], let status = try? FileSystem.linkStatus(graftRoot) {
                let key = ArchiveSegment.Key(graft: name, source: ArchiveSegment.Key.source(status),
                                             omitted: request.omittingLinks.filter { $0.hasPrefix(name + "/") },
                                             hashed: request.hashFiles)
                let kept = usingSegments ? ArchiveSegment.open(segmentPath, for: key) : nil
                part = GraftPart(name: name, key: key, range: 0..<0, kept: kept)
            }
            if let kept = part?.kept {
                grafted = kept.items
                skipped += kept.skipped
            } else {
                let (inner, innerSkipped) = try SourceTree.scan(graftRoot)
                grafted = [SourceTree.Item(path: name, kind: .directory, mode: top.mode, size: 0,
                                           modified: top.modified)]
                grafted += inner.map { var item = $0; item.path = name + "/" + item.path; return item }
                skipped += innerSkipped.map { .init(path: name + "/" + $0.path, reason: $0.reason) }
            }
            let at = items.firstIndex { !$0.path.utf8.lexicographicallyPrecedes(name.utf8) } ?? items.endIndex
            items.insert(contentsOf: grafted, at: at)
            sources[name] = graftRoot
            if let part { parts.append(part) }
        }
        func source(_ item: SourceTree.Item) -> String {
            let top = item.path.split(separator: "/", maxSplits: 1).first.map(String.init) ?? item.path
            guard let graft = sources[top] else { return root + "/" + item.path }
            return item.path == top ? graft : graft + "/" + item.path.dropFirst(top.count + 1)
        }
        if !request.omittingLinks.isEmpty {
            items.removeAll { $0.kind == .symlink && request.omittingLinks.contains($0.path) }
        }
        // Each graft's entries stand together (its top directory, then what is under it), in the order of items.
        for index in parts.indices {
            let name = parts[index].name
            let start = items.firstIndex { $0.path == name } ?? items.endIndex
            let end = items[start...].firstIndex { $0.path != name && !$0.path.hasPrefix(name + "/") } ?? items.endIndex
            parts[index].range = start..<end
        }
        parts.sort { $0.range.lowerBound < $1.range.lowerBound }
        defer { for part in parts { part.kept?.close() } }
        // A kept segment's entries count against the limits and are checked like the rest.
        _ = try check(items, limits: request.limits)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: SHA256Digest.chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        var inner = request.manifest.inner
        inner.skipped = skipped
        inner.files = []
        inner.files.reserveCapacity(items.count)
        // The entries serialized as they are listed; a kept segment's come serialized already.
        var filesJSON: [UInt8] = []
        var partsJSON: [String: [UInt8]] = [:]
        func appendJSON(_ bytes: [UInt8]) {
            guard !bytes.isEmpty else { return }
            if !filesJSON.isEmpty { filesJSON.append(UInt8(ascii: ",")) }
            filesJSON += bytes
        }
        var position = 0
        func listed(_ range: Range<Int>) throws(BundleArchiveError) {
            let start = inner.files.endIndex
            for item in items[range] {
                var sha256: String?
                if item.kind == .file, request.hashFiles {
                    let path = source(item)
                    sha256 = try step("read", path) { () throws(Errno) in
                        try SHA256Digest.file(at: path, buffer: buffer)
                    }
                }
                inner.files.append(BundleManifest.Entry(
                    path: item.path, kind: item.kind, size: item.size,
                    executable: item.kind == .file && item.mode & 0o111 != 0, sha256: sha256, target: item.target))
            }
            appendJSON(BundleManifest.Entry.serialized(inner.files[start...]))
        }
        for part in parts {
            try listed(position..<part.range.lowerBound)
            if let kept = part.kept {
                inner.files += kept.entries
                appendJSON(kept.entriesJSON)
            } else {
                try listed(part.range)
                partsJSON[part.name] = BundleManifest.Entry.serialized(inner.files[part.range])
            }
            position = part.range.upperBound
        }
        try listed(position..<items.endIndex)
        let innerJSON = inner.serialized(filesJSON: filesJSON)

        let partial = archivePath + ".partial-\(getpid())"
        try? FileSystem.unlink(partial)
        var final = inner
        // Segments made with this archive, kept once it is in place.
        var made: [(maker: ArchiveSegment.Maker, part: GraftPart, frame: (size: Int64, sha256: String))] = []
        do throws(BundleArchiveError) {
            let writer = try ArchiveWriter(creating: partial)
            try writer.addFile(BundleManifest.fileName, bytes: innerJSON, mode: 0o644,
                               modified: Int(inner.created.nanoseconds / 1_000_000_000))
            position = 0
            for part in parts {
                for item in items[position..<part.range.lowerBound] {
                    try writer.add(item, from: source(item), buffer: buffer)
                }
                position = part.range.upperBound
                if let kept = part.kept {
                    guard try writer.append(kept, buffer: buffer) else {
                        kept.discard()
                        try? FileSystem.unlink(partial)
                        return nil
                    }
                    continue
                }
                let maker = request.segments[part.name].flatMap(ArchiveSegment.Maker.init(path:))
                try writer.beginSegment(copyingTo: maker?.file)
                for item in items[part.range] { try writer.add(item, from: source(item), buffer: buffer) }
                if let frame = try writer.endSegment(), let maker {
                    made.append((maker, part, frame))
                } else {
                    maker?.abandon()
                }
            }
            for item in items[position...] { try writer.add(item, from: source(item), buffer: buffer) }
            (final.archiveSHA256, final.archiveSize) = try writer.finish()
            // A rebuild under the same name: never leave the old manifest beside the new archive.
            try? FileSystem.unlink(manifestPath(for: archivePath))
            try step("rename into place", archivePath) { () throws(Errno) in try FileSystem.rename(partial, archivePath) }
        } catch {
            for segment in made { segment.maker.abandon() }
            try? FileSystem.unlink(partial)
            throw error
        }
        try writeBeside(BundleManifest.beside(inner: innerJSON, sha256: final.archiveSHA256 ?? "",
                                              size: final.archiveSize ?? 0) ?? final.serialized(),
                        archivePath: archivePath)
        try step("sync the directory of", archivePath) { () throws(Errno) in
            try FileSystem.syncDirectory(parent(of: archivePath))
        }
        for (maker, part, frame) in made {
            let graftSkipped = skipped.filter { $0.path.hasPrefix(part.name + "/") }
            maker.finish(key: part.key, entriesJSON: partsJSON[part.name] ?? [], skipped: graftSkipped,
                         frameSize: frame.size, frameSHA256: frame.sha256)
        }
        return final
    }

    /// Reads the manifest inside the archive (its first entry) without reading the rest. Its `archiveSHA256` and
    /// `archiveSize` are `nil`: the manifest beside the archive has them.
    public static func readManifest(_ archivePath: String) throws(BundleArchiveError) -> BundleManifest {
        try ArchiveLocale.utf8 { () throws(BundleArchiveError) in
            let reader = try ArchiveReader(opening: archivePath)
            return try firstManifest(reader).manifest
        }
    }

    /// Reads the first entry of `reader`, which must be `MANIFEST.json`, and parses it.
    static func firstManifest(_ reader: ArchiveReader)
        throws(BundleArchiveError) -> (manifest: BundleManifest, entry: OpaquePointer, bytes: [UInt8])
    {
        guard let entry = try reader.next() else { throw .notABundle(path: reader.path, "the archive is empty") }
        let name = pathname(of: entry)
        guard EntryPath.parse(name) == .relative([BundleManifest.fileName]),
              UInt32(archive_entry_filetype(entry)) == dz_ae_ifreg(), archive_entry_hardlink(entry) == nil
        else {
            throw .notABundle(path: reader.path, "its first entry is \"\(BundleArchiveError.printable(name))\", not a file "
                + BundleManifest.fileName)
        }
        guard let bytes = try reader.readAll(limit: BundleManifest.sizeLimit) else {
            throw .notABundle(path: reader.path, "its \(BundleManifest.fileName) is too large or sparse")
        }
        return (try BundleManifest.parse(bytes), entry, bytes)
    }

    /// An entry's path as the archive spells it (UTF-8 in pax archives).
    static func pathname(of entry: OpaquePointer) -> String {
        (archive_entry_pathname_utf8(entry) ?? archive_entry_pathname(entry)).map { String(cString: $0) } ?? ""
    }

    private static func writeBeside(_ bytes: [UInt8], archivePath: String) throws(BundleArchiveError) {
        let path = manifestPath(for: archivePath)
        let partial = path + ".partial-\(getpid())"
        try? FileSystem.unlink(partial)
        do throws(Errno) {
            try FileIO.create(partial, bytes: bytes, mode: 0o600, sync: true)
            try FileSystem.rename(partial, path)
        } catch {
            try? FileSystem.unlink(partial)
            throw .system("write the manifest", path: path, error)
        }
    }

    static func resolve(_ path: String) throws(BundleArchiveError) -> String {
        try step("resolve", path) { () throws(Errno) in try FileSystem.resolve(path) }
    }

    /// The directory part of `path`: `.` for a plain name, `/` for a name at the root.
    package static func parent(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
    }

    /// The last component of `path`, without trailing slashes.
    static func lastComponent(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return String(trimmed) }
        return String(trimmed[trimmed.index(after: slash)...])
    }

    static func step<T>(_ what: String, _ path: String, _ body: () throws(Errno) -> T) throws(BundleArchiveError) -> T {
        do {
            return try body()
        } catch {
            throw .system(what, path: path, error)
        }
    }
}
