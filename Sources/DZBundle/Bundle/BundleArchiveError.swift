import DZSystem

/// Why archiving or extracting a bundle failed, each with a message for the job log.
public enum BundleArchiveError: Error, Equatable, CustomStringConvertible {
    /// A system call failed: what was being done, on which path.
    case system(String, path: String, Errno)
    /// libarchive failed: what was being done, on which path, and `archive_error_string`.
    case archive(String, path: String, String)
    /// Extraction refused an entry of the archive; nothing was left behind.
    case refused(entry: String, ExtractionRefusal)
    /// The archive is not a dz bundle (its first entry is not `MANIFEST.json`).
    case notABundle(path: String, String)
    /// A manifest could not be read or has a bad field.
    case badManifest(String)
    /// The archive's content disagrees with its manifest: which entry, and how.
    case manifestMismatch(entry: String, String)
    /// A file changed size while it was being archived (something is still writing into the build directory).
    case changedWhileArchiving(path: String, expected: Int64, found: Int64)
    /// What was to be archived is not a directory.
    case notADirectory(String)
    /// The archive would be written inside the directory being archived.
    case archiveInsideSource(archive: String, directory: String)
    /// Extraction never replaces an existing directory.
    case targetExists(String)
    /// A symbolic link to be archived points outside the bundle (absolute, or climbing above its top): the
    /// link's path in the bundle and its target. Extraction would refuse it; a build fails on it instead.
    case linkLeavesBundle(path: String, target: String)
    /// What was to be archived holds more bytes than allowed.
    case tooLarge(bytes: Int64, limit: Int64)
    /// What was to be archived holds more names than allowed.
    case tooManyEntries(count: Int, limit: Int)

    public var description: String {
        switch self {
        case .system(let what, let path, let errno):
            "could not \(what) \(path): \(errno)"
        case .archive(let what, let path, let message):
            "could not \(what) \(path): \(message)"
        case .refused(let entry, let reason):
            "refused archive entry \"\(Self.printable(entry))\": \(reason)"
        case .notABundle(let path, let why):
            "\(path) is not a dz bundle: \(why)"
        case .badManifest(let why):
            "bad bundle manifest: \(why)"
        case .manifestMismatch(let entry, let why):
            "archive entry \"\(Self.printable(entry))\" does not match the manifest: \(why)"
        case .changedWhileArchiving(let path, let expected, let found):
            "\(path) changed while it was being archived (\(expected) bytes, then \(found)): is a build still writing?"
        case .notADirectory(let path):
            "\(path) is not a directory"
        case .archiveInsideSource(let archive, let directory):
            "the archive \(archive) would be inside the directory it archives, \(directory)"
        case .targetExists(let path):
            "\(path) exists already: a bundle is only ever extracted into a new directory"
        case .linkLeavesBundle(let path, let target):
            "the symbolic link \(Self.printable(path)) points outside the bundle (to \(Self.printable(target))): a bundle "
                + "carries only its own files; remove the link, or make it a relative link to a file of the project"
        case .tooLarge(let bytes, let limit):
            "it holds \(ByteSize.text(bytes)), more than the \(ByteSize.text(limit)) allowed"
        case .tooManyEntries(let count, let limit):
            "it holds \(count) files and directories, more than the \(limit) allowed"
        }
    }

    /// An archive's entry name as it may safely go into a log line: control characters escaped, length bounded.
    static func printable(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars.prefix(300) {
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return text.unicodeScalars.count > 300 ? out + "..." : out
    }
}
