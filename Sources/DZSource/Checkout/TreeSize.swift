import DZSystem

/// What directory trees hold: the bytes of their files and the number of their names, found by a walk that never
/// follows a symbolic link and never leaves the file system it starts on.
///
/// The walk also measures trees the project's code is writing (the build's size watch): such a tree can change
/// under it, so everything it finds is only counted, never opened or followed, and it stops as soon as the
/// totals pass the bounds it was given, so that a tree made to be huge costs no more than the bound to measure.
package struct TreeSize: Sendable, Equatable {
    /// Bytes of regular files (their apparent size: a sparse file counts whole, as the archive would hold it),
    /// plus the sizes the file system reports for directories and links.
    package var bytes: Int64 = 0
    /// Names under the roots, the roots not counted.
    package var entries: Int = 0

    /// Whether the totals are past `maxBytes` or `maxEntries`.
    package func exceeds(maxBytes: Int64, maxEntries: Int) -> Bool { bytes > maxBytes || entries > maxEntries }

    /// Measures `roots` together (a missing root counts nothing), stopping once past the bounds.
    package static func measure(_ roots: [String], stopAfter maxBytes: Int64 = .max, entries maxEntries: Int = .max)
        -> TreeSize
    {
        var total = TreeSize()
        for root in roots {
            guard let status = try? FileSystem.linkStatus(root), status.isDirectory else {
                if let status = try? FileSystem.linkStatus(root) { total.bytes += status.size }
                continue
            }
            walk(root, device: status.device, into: &total, maxBytes: maxBytes, maxEntries: maxEntries)
            if total.exceeds(maxBytes: maxBytes, maxEntries: maxEntries) { break }
        }
        return total
    }

    private static func walk(_ directory: String, device: UInt64, into total: inout TreeSize, maxBytes: Int64,
                             maxEntries: Int)
    {
        guard let names = try? FileSystem.names(in: directory) else { return }
        for name in names {
            if total.exceeds(maxBytes: maxBytes, maxEntries: maxEntries) { return }
            let path = directory + "/" + name
            guard let status = try? FileSystem.linkStatus(path) else { continue }
            total.entries += 1
            total.bytes = total.bytes.addingReportingOverflow(max(0, status.size)).overflow ? .max
                : total.bytes + max(0, status.size)
            if status.isDirectory, status.device == device {
                walk(path, device: device, into: &total, maxBytes: maxBytes, maxEntries: maxEntries)
            }
        }
    }
}
