import DZSpool

/// A host's local data directory (`dz agent --data-dir`, default `$DZ_DATA`, else `./var`): working copies,
/// builds and bundles live here, never in the spool (which may be shared over NFS).
public struct Workspace: Sendable, Equatable {
    public let root: String

    public init(root: String) {
        var trimmed = root
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.root = trimmed
    }

    /// The data directory to use: the explicit one, else `$DZ_DATA`, else `./var`.
    public static func rootPath(explicit: String?, environment: [String: String]) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let fromEnvironment = environment["DZ_DATA"], !fromEnvironment.isEmpty { return fromEnvironment }
        return "var"
    }

    /// The project's reused working copy: `<root>/checkouts/<project>/src`.
    public func sourceDirectory(_ project: ProjectID) -> String {
        root + "/checkouts/" + project.rawValue + "/src"
    }
}
