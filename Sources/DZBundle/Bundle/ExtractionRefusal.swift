/// Why extraction refused an archive entry before writing anything for it.
public enum ExtractionRefusal: Sendable, Equatable, CustomStringConvertible {
    case emptyPath
    /// An entry for the extraction directory itself (`.`) that is not a directory.
    case replacesTop
    case absolutePath
    /// A `..` component in the entry's path.
    case parentComponent
    /// The entry would be written beneath a symbolic link the archive made (`link/file`).
    case throughSymbolicLink(String)
    /// The entry would be written beneath a file the archive made.
    case beneathFile(String)
    /// A second entry of the same path (other than a directory repeated).
    case duplicate
    case absoluteLinkTarget(String)
    /// The symbolic link's target leaves the extraction directory.
    case linkTargetOutside(String)
    /// The symbolic link's target climbs with `..` after naming a directory (`a/../..`): where that ends depends
    /// on what `a` is, which a check of names alone cannot know.
    case linkTargetClimbsAfterName(String)
    case emptyLinkTarget
    /// A hard link to something that is not a file extracted earlier from the same archive.
    case hardLinkOutside(String)
    case deviceFile
    case fifoOrSocket
    /// The entry asks for setuid or setgid (the mode, in octal).
    case setIDBits(String)
    case unknownType(UInt32)
    /// The entry is not in the archive's manifest.
    case notInManifest
    /// The archive stores the entry's data sparsely, which bundles never do.
    case sparseData

    public var description: String {
        switch self {
        case .emptyPath: "empty path"
        case .replacesTop: "would replace the extraction directory itself"
        case .absolutePath: "absolute path"
        case .parentComponent: "path has a \"..\" component"
        case .throughSymbolicLink(let link): "path goes through the symbolic link \"\(link)\""
        case .beneathFile(let file): "path goes through \"\(file)\", which is a file"
        case .duplicate: "a second entry with the same path"
        case .absoluteLinkTarget(let target): "symbolic link to the absolute path \"\(BundleArchiveError.printable(target))\""
        case .linkTargetOutside(let target):
            "symbolic link to \"\(BundleArchiveError.printable(target))\" points outside the extraction directory"
        case .linkTargetClimbsAfterName(let target):
            "symbolic link to \"\(BundleArchiveError.printable(target))\" has \"..\" after a name"
        case .emptyLinkTarget: "symbolic link with an empty target"
        case .hardLinkOutside(let target):
            "hard link to \"\(BundleArchiveError.printable(target))\", not a file extracted before it"
        case .deviceFile: "device file"
        case .fifoOrSocket: "FIFO or socket"
        case .setIDBits(let mode): "setuid or setgid mode \(mode)"
        case .unknownType(let type): "unknown entry type 0o\(String(type, radix: 8))"
        case .notInManifest: "not listed in the bundle's manifest"
        case .sparseData: "sparse data"
        }
    }
}
