import CArchive
import DZSystem

/// libarchive's writer of entries to disk, with its own safety checks on.
///
/// `ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS` is not among them, and cannot be: `archive_write_disk` writes each
/// entry at its path relative to the process's working directory, which a multi-threaded agent cannot change for
/// one extraction, so entries are given the extraction directory's full path (symbolic links resolved, so that
/// `SECURE_SYMLINKS` passes it) after `ExtractionGuard` has refused every absolute path of the archive itself.
final class DiskWriter {
    /// Permissions and times restored; never owners, ACLs, extended attributes or file flags; never through a
    /// symbolic link, never a `..`.
    static let options = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_SYMLINKS
        | ARCHIVE_EXTRACT_SECURE_NODOTDOT

    let directory: String
    private let handle: OpaquePointer

    /// A writer of entries below `directory`, an absolute path without symbolic links.
    ///
    /// The corresponding C functions are `archive_write_disk_new` and `archive_write_disk_set_options`.
    init(into directory: String) throws(BundleArchiveError) {
        guard let handle = archive_write_disk_new() else { preconditionFailure("archive_write_disk_new: out of memory") }
        self.directory = directory
        self.handle = handle
        guard archive_write_disk_set_options(handle, Self.options) == ARCHIVE_OK else {
            throw .archive("set extraction options for", path: directory, SourceTree.errorString(handle))
        }
    }

    deinit { archive_write_free(handle) }

    /// Writes the header of `entry` (its pathname and hard link already made full paths by the caller).
    ///
    /// The corresponding C function is `archive_write_header`.
    func begin(_ entry: OpaquePointer, name: String) throws(BundleArchiveError) {
        guard archive_write_header(handle, entry) >= ARCHIVE_WARN else { throw failure("extract \(name) into") }
    }

    /// Writes one block of the current entry's data at `offset`.
    ///
    /// The corresponding C function is `archive_write_data_block`.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64, name: String) throws(BundleArchiveError) {
        guard archive_write_data_block(handle, bytes.baseAddress, bytes.count, offset) >= ARCHIVE_WARN else {
            throw failure("extract \(name) into")
        }
    }

    /// Ends the current entry (libarchive sets its permissions and time here).
    ///
    /// The corresponding C function is `archive_write_finish_entry`.
    func end(name: String) throws(BundleArchiveError) {
        guard archive_write_finish_entry(handle) >= ARCHIVE_WARN else { throw failure("extract \(name) into") }
    }

    /// Applies what libarchive defers to the end: the permissions and times of directories.
    ///
    /// The corresponding C function is `archive_write_close`.
    func close() throws(BundleArchiveError) {
        guard archive_write_close(handle) >= ARCHIVE_WARN else { throw failure("finish extracting into") }
    }

    private func failure(_ what: String) -> BundleArchiveError {
        .archive(what, path: directory, SourceTree.errorString(handle))
    }
}
