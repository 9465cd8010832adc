extension BundleArchive {
    /// Bounds on what an archive may hold, checked before anything is written.
    public struct Limits: Sendable, Equatable {
        public var maxBytes: Int64
        public var maxEntries: Int

        public init(maxBytes: Int64 = .max, maxEntries: Int = .max) {
            self.maxBytes = maxBytes
            self.maxEntries = maxEntries
        }

        public static let none = Limits()
    }

    /// Checks a tree to be archived, or part of it, without reading a file: every symbolic link must resolve inside
    /// the bundle by extraction's own rule (`ExtractionGuard.checkLinkTarget`: relative, climbing only from its own
    /// directory and never above the bundle's top), and the sizes and names must be within `limits`.
    ///
    /// - Parameters:
    ///   - prefix: the directories above `items` in the bundle (`["src"]` when they are the code of a build tree),
    ///     for the links' depth and the paths in messages.
    /// - Returns: the bytes of the files and the number of items.
    static func check(_ items: [SourceTree.Item], under prefix: [String] = [], limits: Limits)
        throws(BundleArchiveError) -> (bytes: Int64, entries: Int)
    {
        var bytes: Int64 = 0
        for item in items {
            let path = (prefix + [item.path]).joined(separator: "/")
            if item.kind == .symlink {
                let depth = prefix.count + item.path.split(separator: "/").count - 1
                if ExtractionGuard.checkLinkTarget(item.target ?? "", linkDepth: depth) != nil {
                    throw .linkLeavesBundle(path: path, target: item.target ?? "")
                }
            }
            let (sum, overflow) = bytes.addingReportingOverflow(item.size)
            bytes = overflow ? .max : sum
        }
        if items.count > limits.maxEntries { throw .tooManyEntries(count: items.count, limit: limits.maxEntries) }
        if bytes > limits.maxBytes { throw .tooLarge(bytes: bytes, limit: limits.maxBytes) }
        return (bytes, items.count)
    }

    /// Scans `directory` (never following a link) and checks it as the part `prefix` of a bundle (see `check`).
    package static func checkTree(_ directory: String, under prefix: [String], limits: Limits) throws(BundleArchiveError)
        -> (bytes: Int64, entries: Int)
    {
        try check(try SourceTree.scan(directory).items, under: prefix, limits: limits)
    }
}
