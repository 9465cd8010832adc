#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import CArchive
import DZSystem

extension BundleArchive {
    /// Extracts the bundle at `archivePath` into `directory`, which must not exist, and returns its manifest.
    ///
    /// Entries go into `<directory>.partial-<pid>`, renamed to `directory` only when every entry is in and agrees
    /// with the manifest; on any failure that directory is removed and nothing is left. Before each entry is
    /// written, `ExtractionGuard` refuses absolute paths, `..` components, paths through a link or file of the
    /// archive, symbolic links that are absolute or lead outside, hard links to anything but an earlier file of
    /// the archive, device files, FIFOs, sockets, and setuid or setgid modes; libarchive's
    /// `ARCHIVE_EXTRACT_SECURE_SYMLINKS` and `SECURE_NODOTDOT` check again as it writes. Owners are never
    /// restored (everything belongs to the caller); modes are masked to 0755 (files keep their execute bits),
    /// with the owner always able to read and write; modification times are kept, so Python's cached bytecode
    /// stays valid.
    ///
    /// With `only` (relative directory paths such as `static`), just the entries under them are written (the
    /// proxy needs a bundle's static files, not its virtualenv). With `skipping`, given the manifest once it is
    /// read, the entries under the directories it returns (such as `venv`) are not written (an appserver that has
    /// the bundle's venv already). An entry left out is still checked against the rules and the manifest's path
    /// and kind, its data neither hashed nor written; and once every entry the manifest lists from there on is
    /// one left out (a bundle's `venv/` comes last), the rest of the archive is not read at all: the archive's
    /// own SHA-256, checked before, covers it, and nothing of it reaches the disk.
    @discardableResult
    public static func extract(_ archivePath: String, into directory: String, only: [String]? = nil,
                               skipping: (BundleManifest) -> [String] = { _ in [] })
        throws(BundleArchiveError) -> BundleManifest
    {
        try ArchiveLocale.utf8 { () throws(BundleArchiveError) in
            try extractArchive(archivePath, into: directory, only: only, skipping: skipping)
        }
    }

    private static func extractArchive(_ archivePath: String, into directory: String, only: [String]?,
                                       skipping: (BundleManifest) -> [String]) throws(BundleArchiveError)
        -> BundleManifest
    {
        let name = lastComponent(of: directory)
        let realParent = try resolve(parent(of: directory))
        let target = (realParent == "/" ? "" : realParent) + "/" + name
        // Only to fail before the work: the rename at the end refuses an existing target atomically.
        if name.isEmpty || name == "." || name == ".." || FileSystem.exists(target) {
            throw .targetExists(directory)
        }
        let partial = target + ".partial-\(getpid())"
        // Left by a crashed process that had this pid: nothing else uses the name.
        SourceTree.remove(partial)
        do throws(BundleArchiveError) {
            try step("create", partial) { () throws(Errno) in try FileSystem.makeDirectory(partial, mode: 0o755) }
            let manifest = try extractEntries(archivePath, into: partial, only: only, skipping: skipping)
            do throws(Errno) {
                try FileSystem.renameNoReplace(partial, target)
            } catch .fileExists, .directoryNotEmpty {
                throw .targetExists(directory)
            } catch {
                throw .system("rename into place", path: target, error)
            }
            try? FileSystem.syncDirectory(realParent)
            return manifest
        } catch {
            SourceTree.remove(partial)
            throw error
        }
    }

    private static func extractEntries(_ archivePath: String, into partial: String, only: [String]?,
                                       skipping: (BundleManifest) -> [String]) throws(BundleArchiveError)
        -> BundleManifest
    {
        let reader = try ArchiveReader(opening: archivePath)
        let disk = try DiskWriter(into: partial)
        let (manifest, first, manifestBytes) = try firstManifest(reader)
        let wanted = only?.map { $0.split(separator: "/").joined(separator: "/") }
        let unwanted = skipping(manifest).map { $0.split(separator: "/").joined(separator: "/") }
        func isWanted(_ path: String) -> Bool {
            if unwanted.contains(where: { path == $0 || path.hasPrefix($0 + "/") }) { return false }
            guard let wanted else { return true }
            return wanted.contains { path == $0 || path.hasPrefix($0 + "/") }
        }
        archive_entry_copy_pathname(first, partial + "/" + BundleManifest.fileName)
        archive_entry_set_perm(first, 0o644)
        try disk.begin(first, name: BundleManifest.fileName)
        try manifestBytes.withUnsafeBytes { bytes in
            Result { () throws(BundleArchiveError) in try disk.write(bytes, at: 0, name: BundleManifest.fileName) }
        }.get()
        try disk.end(name: BundleManifest.fileName)

        var expected: [String: BundleManifest.Entry] = [:]
        // How many entries the manifest lists that are to be written and not met yet: at 0, reading stops when
        // something is left out (a whole extraction reads to the end, refusing whatever follows).
        let leavesOut = wanted != nil || !unwanted.isEmpty
        var wantedLeft = 0
        for entry in manifest.files {
            guard case .relative(let parts) = EntryPath.parse(entry.path),
                  expected.updateValue(entry, forKey: parts.joined(separator: "/")) == nil
            else { throw .badManifest("\(entry.path) is listed twice") }
            if isWanted(parts.joined(separator: "/")) { wantedLeft += 1 }
        }
        var rules = ExtractionGuard()
        while !leavesOut || wantedLeft > 0, let entry = try reader.next() {
            let name = pathname(of: entry)
            let kind = kind(of: entry)
            let parts: [String]
            switch EntryPath.parse(name) {
            case .refused(let refusal): throw .refused(entry: name, refusal)
            case .top where kind == .directory: continue
            case .top: throw .refused(entry: name, .replacesTop)
            case .relative(let relative): parts = relative
            }
            let mode = UInt32(archive_entry_perm(entry))
            if let refusal = rules.admit(parts, kind: kind, mode: mode) { throw .refused(entry: name, refusal) }
            let path = parts.joined(separator: "/")
            guard let listed = expected.removeValue(forKey: path) else { throw .refused(entry: name, .notInManifest) }
            try check(kind, against: listed)
            // Skipped entries' data is skipped by the next header read; the archive's own hash was checked.
            guard isWanted(path) else { continue }
            try write(entry, kind: kind, mode: mode, path: path, listed: listed, from: reader, to: disk)
            wantedLeft -= 1
        }
        // What is left unread is only what is left out; what was read to its end must have held every entry.
        if let missing = expected.keys.filter({ !leavesOut || wantedLeft > 0 || isWanted($0) }).min() {
            throw .manifestMismatch(entry: missing, "listed in the manifest but not in the archive")
        }
        try disk.close()
        return manifest
    }

    /// Writes one admitted entry under the extraction directory, hashing a file's data as it passes.
    private static func write(_ entry: OpaquePointer, kind: ExtractionGuard.Kind, mode: UInt32, path: String,
                              listed: BundleManifest.Entry, from reader: ArchiveReader, to disk: DiskWriter)
        throws(BundleArchiveError)
    {
        // The disk writer takes the bytes as given: set them from the UTF-8 names, whatever the locale.
        archive_entry_copy_pathname(entry, disk.directory + "/" + path)
        switch kind {
        case .hardLink(let target):
            guard case .relative(let parts) = EntryPath.parse(target) else { return }
            archive_entry_copy_hardlink(entry, disk.directory + "/" + parts.joined(separator: "/"))
        case .symbolicLink(let target):
            archive_entry_copy_symlink(entry, target)
        case .directory:
            archive_entry_set_perm(entry, (mode & 0o755) | 0o700)
        default:
            archive_entry_set_perm(entry, (mode & 0o755) | 0o600)
        }
        try disk.begin(entry, name: path)
        var digest = SHA256Digest()
        var size: Int64 = 0
        while let block = try reader.nextBlock() {
            guard block.offset == size else { throw .refused(entry: path, .sparseData) }
            digest.update(block.bytes)
            size += Int64(block.bytes.count)
            try disk.write(block.bytes, at: block.offset, name: path)
        }
        try disk.end(name: path)
        guard kind == .file else { return }
        guard size == listed.size else {
            throw .manifestMismatch(entry: path, "\(size) bytes, the manifest says \(listed.size)")
        }
        if let sha256 = listed.sha256, digest.finalize() != sha256 {
            throw .manifestMismatch(entry: path, "its SHA-256 differs from the manifest's")
        }
    }

    private static func check(_ kind: ExtractionGuard.Kind, against listed: BundleManifest.Entry)
        throws(BundleArchiveError)
    {
        switch (kind, listed.kind) {
        case (.file, .file), (.hardLink, .file), (.directory, .directory):
            return
        case (.symbolicLink(let target), .symlink) where target == listed.target:
            return
        case (.symbolicLink(let target), .symlink):
            throw .manifestMismatch(entry: listed.path, "a link to \"\(BundleArchiveError.printable(target))\", "
                + "the manifest says to \"\(BundleArchiveError.printable(listed.target ?? ""))\"")
        default:
            throw .manifestMismatch(entry: listed.path, "the manifest says it is a \(listed.kind.rawValue)")
        }
    }

    /// What `entry` would create on disk.
    private static func kind(of entry: OpaquePointer) -> ExtractionGuard.Kind {
        if let link = archive_entry_hardlink_utf8(entry) ?? archive_entry_hardlink(entry) {
            return .hardLink(target: String(cString: link))
        }
        let type = UInt32(archive_entry_filetype(entry))
        switch type {
        case dz_ae_ifreg(): return .file
        case dz_ae_ifdir(): return .directory
        case dz_ae_iflnk():
            let target = (archive_entry_symlink_utf8(entry) ?? archive_entry_symlink(entry)).map { String(cString: $0) }
            return .symbolicLink(target: target ?? "")
        case dz_ae_ifchr(), dz_ae_ifblk(): return .device
        case dz_ae_ififo(), dz_ae_ifsock(): return .fifoOrSocket
        default: return .unknown(type)
        }
    }
}
