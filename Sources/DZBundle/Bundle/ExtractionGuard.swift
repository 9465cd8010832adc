/// The checks extraction makes before writing each entry, and what it remembers of the entries already written.
///
/// Paths are judged by name alone, never by looking at the disk, so a check cannot race with what it checks.
/// That is enough because nothing but this archive writes into the fresh extraction directory, and because the
/// rules are closed under composition: no entry goes through a link or file the archive made, and a symbolic
/// link may only climb (`../`) from its own real directory before naming anything, so every link resolves
/// inside the target even when its target passes through other links.
struct ExtractionGuard {
    /// What an archive entry would create.
    enum Kind: Equatable {
        case file
        case directory
        case symbolicLink(target: String)
        case hardLink(target: String)
        case device
        case fifoOrSocket
        case unknown(UInt32)
    }

    private enum Made { case directory, file, symbolicLink }

    private var made: [String: Made] = [:]

    /// Checks one entry, already split by `EntryPath.parse`; records it when it passes.
    mutating func admit(_ path: [String], kind: Kind, mode: UInt32) -> ExtractionRefusal? {
        switch kind {
        case .device: return .deviceFile
        case .fifoOrSocket: return .fifoOrSocket
        case .unknown(let type): return .unknownType(type)
        default: break
        }
        if mode & 0o6000 != 0, !kind.isSymbolicLink { return .setIDBits("0" + String(mode & 0o7777, radix: 8)) }
        var prefix = ""
        for part in path.dropLast() {
            prefix = prefix.isEmpty ? part : prefix + "/" + part
            switch made[prefix] {
            case .symbolicLink: return .throughSymbolicLink(prefix)
            case .file: return .beneathFile(prefix)
            case .directory, nil: continue
            }
        }
        let key = path.joined(separator: "/")
        if let existing = made[key], !(existing == .directory && kind == .directory) { return .duplicate }
        switch kind {
        case .symbolicLink(let target):
            if let refusal = Self.checkLinkTarget(target, linkDepth: path.count - 1) { return refusal }
        case .hardLink(let target):
            guard case .relative(let parts) = EntryPath.parse(target), made[parts.joined(separator: "/")] == .file
            else { return .hardLinkOutside(target) }
        default:
            break
        }
        prefix = ""
        for part in path.dropLast() {
            prefix = prefix.isEmpty ? part : prefix + "/" + part
            if made[prefix] == nil { made[prefix] = .directory }
        }
        switch kind {
        case .directory: made[key] = .directory
        case .symbolicLink: made[key] = .symbolicLink
        default: made[key] = .file
        }
        return nil
    }

    /// Refuses a symbolic link target that is absolute, climbs above the target directory from a link
    /// `linkDepth` directories down, or climbs after naming something (`a/../..`).
    static func checkLinkTarget(_ target: String, linkDepth: Int) -> ExtractionRefusal? {
        if target.isEmpty { return .emptyLinkTarget }
        if target.utf8.first == UInt8(ascii: "/") { return .absoluteLinkTarget(target) }
        var climbs = 0
        var named = false
        for part in target.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                if named { return .linkTargetClimbsAfterName(target) }
                climbs += 1
            } else {
                named = true
            }
        }
        return climbs > linkDepth ? .linkTargetOutside(target) : nil
    }
}

extension ExtractionGuard.Kind {
    var isSymbolicLink: Bool {
        if case .symbolicLink = self { return true }
        return false
    }
}
