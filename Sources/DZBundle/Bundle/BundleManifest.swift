#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DZSpool
import DZSystem

/// What a bundle holds and where it came from: written as `MANIFEST.json`, the first entry of the archive, and as
/// `<archive>.manifest.json` beside it.
///
/// The two copies differ in one way only. The copy inside the archive cannot contain the hash of the archive that
/// contains it, so its `archive_sha256` and `archive_size` are `null`; the copy beside the archive has both, and is
/// what storage and deploys check a downloaded archive against.
public struct BundleManifest: Sendable, Equatable {
    /// The name of the manifest inside the archive (its first entry) and at the top of an extracted bundle.
    public static let fileName = "MANIFEST.json"
    /// The manifest format this code writes and reads, as `"format"` in the JSON.
    public static let format: Int64 = 1

    /// One file, directory or symbolic link in the bundle.
    public struct Entry: Sendable, Equatable {
        public enum Kind: String, Sendable {
            case file, directory, symlink
        }

        /// Relative to the bundle's top, `/`-separated, without `./`.
        public var path: String
        public var kind: Kind
        /// Bytes of content; 0 for directories and links.
        public var size: Int64
        /// Whether any execute bit is set (files only: directories always get 0755 on extraction).
        public var executable: Bool
        /// The SHA-256 of the content, for files.
        public var sha256: String?
        /// What a symbolic link points to.
        public var target: String?

        public init(path: String, kind: Kind, size: Int64 = 0, executable: Bool = false, sha256: String? = nil,
                    target: String? = nil)
        {
            self.path = path
            self.kind = kind
            self.size = size
            self.executable = executable
            self.sha256 = sha256
            self.target = target
        }
    }

    /// Something in the build directory left out of the archive (a socket or a FIFO), and why.
    public struct Skipped: Sendable, Equatable {
        public var path: String
        public var reason: String

        public init(path: String, reason: String) {
            self.path = path
            self.reason = reason
        }
    }

    /// `bundle_<project>_<UTC yyyy-mm-dd-HH.MM.SS>[_<suffix>]`; see `bundleName(project:at:unique:)`.
    public var name: String
    public var project: String
    /// The commit (or Mercurial changeset) the code was built from.
    public var codeRevision: String
    public var pythonVersion: String?
    public var djangoVersion: String?
    /// When the bundle was built; kept to the microsecond, as its RFC 3339 form is.
    public var created: Timestamp
    /// Every entry of the archive but the manifest itself, in archive order.
    public var files: [Entry]
    public var skipped: [Skipped]
    /// The SHA-256 of the `.tar.zst`: `nil` in the copy inside the archive.
    public var archiveSHA256: String?
    /// The size of the `.tar.zst` in bytes: `nil` in the copy inside the archive.
    public var archiveSize: Int64?

    public init(name: String, project: String, codeRevision: String, pythonVersion: String?, djangoVersion: String?,
                created: Timestamp, files: [Entry] = [], skipped: [Skipped] = [], archiveSHA256: String? = nil,
                archiveSize: Int64? = nil)
    {
        self.name = name
        self.project = project
        self.codeRevision = codeRevision
        self.pythonVersion = pythonVersion
        self.djangoVersion = djangoVersion
        self.created = Timestamp(nanoseconds: created.nanoseconds - created.nanoseconds % 1000)
        self.files = files
        self.skipped = skipped
        self.archiveSHA256 = archiveSHA256
        self.archiveSize = archiveSize
    }

    /// The copy that goes inside the archive: the same, without the archive's own hash and size.
    public var inner: BundleManifest {
        var copy = self
        copy.archiveSHA256 = nil
        copy.archiveSize = nil
        return copy
    }

    /// `bundle_<project>_<UTC yyyy-mm-dd-HH.MM.SS>`, with `_<unique>` appended when given: the caller passes a
    /// suffix (`2`, `3`, ...) when a bundle of that name exists already, as for two builds in one second.
    public static func bundleName(project: String, at time: Timestamp, unique: String? = nil) -> String {
        var seconds = time_t(time.nanoseconds / 1_000_000_000)
        if time.nanoseconds < 0, time.nanoseconds % 1_000_000_000 != 0 { seconds -= 1 }
        var tm = Glibc.tm()
        gmtime_r(&seconds, &tm)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let stamp = "\(tm.tm_year + 1900)-\(two(tm.tm_mon + 1))-\(two(tm.tm_mday))-"
            + "\(two(tm.tm_hour)).\(two(tm.tm_min)).\(two(tm.tm_sec))"
        let base = "bundle_\(project)_\(stamp)"
        guard let unique, !unique.isEmpty else { return base }
        return base + "_" + unique
    }

    /// The first of `bundleName(project:at:)`, then `_2`, `_3`, ... for which `isTaken` says no.
    public static func uniqueBundleName(project: String, at time: Timestamp, isTaken: (String) -> Bool) -> String {
        var name = bundleName(project: project, at: time)
        var suffix = 2
        while isTaken(name) {
            name = bundleName(project: project, at: time, unique: String(suffix))
            suffix += 1
        }
        return name
    }
}
