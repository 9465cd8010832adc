import CArchive
import DZSystem

/// The files of a directory to be archived, found by a walk in a fixed order, and the removal of a tree.
package enum SourceTree {
    /// One thing to archive, with what the archive keeps of its status.
    struct Item: Sendable, Equatable {
        /// Relative to the directory, `/`-separated.
        var path: String
        var kind: BundleManifest.Entry.Kind
        /// Permission bits, already without setuid, setgid, sticky and group or other write.
        var mode: UInt32
        var size: Int64
        /// Modification time in whole seconds (sub-second times would need pax extended headers).
        var modified: Int
        var target: String?
    }

    /// Walks `root` depth first, each directory's names in byte order, a directory before its contents: the same
    /// tree always gives the same order. Symbolic links are listed, never followed; sockets, FIFOs and devices
    /// are skipped and reported, as is a `MANIFEST.json` at the top (the bundle's own manifest replaces it).
    ///
    /// Uses libarchive's `archive_read_disk_entry_from_file` for each name (an `lstat`, and `readlink` for links),
    /// with extended attributes, ACLs, file flags and sparse maps turned off.
    static func scan(_ root: String) throws(BundleArchiveError) -> (items: [Item], skipped: [BundleManifest.Skipped]) {
        let disk = newDisk()
        defer { archive_read_free(disk) }
        var items: [Item] = []
        var skipped: [BundleManifest.Skipped] = []
        try walk(root, "", disk, &items, &skipped)
        return (items, skipped)
    }

    /// The status of `path` itself, never following a link, as an item with an empty path; nil for a kind that is
    /// never archived.
    static func item(at path: String) throws(BundleArchiveError) -> Item? {
        let disk = newDisk()
        defer { archive_read_free(disk) }
        guard case .item(let item) = try status(of: path, disk: disk) else { return nil }
        return item
    }

    private static func newDisk() -> OpaquePointer {
        guard let disk = archive_read_disk_new() else { preconditionFailure("archive_read_disk_new: out of memory") }
        archive_read_disk_set_symlink_physical(disk)
        archive_read_disk_set_behavior(
            disk, ARCHIVE_READDISK_NO_XATTR | ARCHIVE_READDISK_NO_ACL | ARCHIVE_READDISK_NO_FFLAGS
                | ARCHIVE_READDISK_NO_SPARSE)
        return disk
    }

    private static func walk(_ root: String, _ directory: String, _ disk: OpaquePointer, _ items: inout [Item],
                             _ skipped: inout [BundleManifest.Skipped]) throws(BundleArchiveError)
    {
        let full = directory.isEmpty ? root : root + "/" + directory
        let names: [String]
        do {
            names = try FileSystem.names(in: full)
        } catch {
            throw .system("list", path: full, error)
        }
        for name in names.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            let path = directory.isEmpty ? name : directory + "/" + name
            if path == BundleManifest.fileName {
                skipped.append(.init(path: path, reason: "replaced by the bundle's own manifest"))
                continue
            }
            switch try status(of: root + "/" + path, disk: disk) {
            case .item(var item):
                item.path = path
                items.append(item)
                if item.kind == .directory { try walk(root, path, disk, &items, &skipped) }
            case .skip(let reason):
                skipped.append(.init(path: path, reason: reason))
            }
        }
    }

    private enum Found {
        case item(Item)
        case skip(String)
    }

    private static func status(of path: String, disk: OpaquePointer) throws(BundleArchiveError) -> Found {
        guard let entry = archive_entry_new() else { preconditionFailure("archive_entry_new: out of memory") }
        defer { archive_entry_free(entry) }
        archive_entry_copy_sourcepath(entry, path)
        archive_entry_copy_pathname(entry, path)
        guard archive_read_disk_entry_from_file(disk, entry, -1, nil) >= ARCHIVE_WARN else {
            throw .archive("read the status of", path: path, errorString(disk))
        }
        let type = UInt32(archive_entry_filetype(entry))
        let kind: BundleManifest.Entry.Kind
        switch type {
        case dz_ae_ifreg(): kind = .file
        case dz_ae_ifdir(): kind = .directory
        case dz_ae_iflnk(): kind = .symlink
        case dz_ae_ififo(): return .skip("a FIFO")
        case dz_ae_ifsock(): return .skip("a socket")
        case dz_ae_ifchr(), dz_ae_ifblk(): return .skip("a device file")
        default: return .skip("an unknown file type")
        }
        var target: String?
        if kind == .symlink {
            guard let raw = archive_entry_symlink(entry) else { throw .archive("read the link", path: path, "no target") }
            target = String(cString: raw)
        }
        return .item(Item(
            path: "", kind: kind, mode: UInt32(archive_entry_perm(entry)) & 0o755,
            size: kind == .file ? archive_entry_size(entry) : 0, modified: Int(archive_entry_mtime(entry)),
            target: target))
    }

    /// Removes `path` and everything under it, never following a symbolic link; errors are ignored, as this only
    /// cleans up after a failure that is reported already.
    package static func remove(_ path: String) {
        guard let status = try? FileSystem.linkStatus(path) else { return }
        if status.isDirectory {
            for name in (try? FileSystem.names(in: path)) ?? [] { remove(path + "/" + name) }
            try? FileSystem.removeDirectory(path)
        } else {
            try? FileSystem.unlink(path)
        }
    }

    static func errorString(_ archive: OpaquePointer) -> String {
        archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
    }
}
