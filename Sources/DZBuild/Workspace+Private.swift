import DZSpool
import DZSystem

/// The build host's directories that hold tenants' files: the agent's alone (mode 0700), so that no other local
/// user can read a project's code, builds, bundles or caches. A root agent gives a project's build trees to the
/// project's build user (`BuildSandbox.handOver`); their parents stay root's.
///
/// ```
/// <data>/checkouts/<project>/src      the working copy (git runs as the agent)
/// <data>/builds/<bundle>/             a build tree; <bundle>.tmp/ beside it is the build's /tmp
/// <data>/bundles/<bundle>.tar.zst     archives (0600; 0640 once a directory store on this file system holds
///                                     them, as a second name) and their manifests
/// <data>/caches/<project>/pip/        the project's pip cache
/// <data>/caches/<project>/venvs/      the project's virtualenvs, reused by its later builds
/// <data>/build-users/                 a root agent's build uids, one per project
/// <data>/sandbox/<uid>/               the passwd and group files the sandbox shows
/// ```
extension Workspace {
    /// `<root>/checkouts/<project>`, where the project's working copy is `src`.
    public func checkoutDirectory(_ project: ProjectID) -> String { root + "/checkouts/" + project.rawValue }

    /// Makes `<root>/checkouts/<project>` and its parent private (0700).
    package func prepareCheckoutDirectory(for project: ProjectID) throws(BuildError) {
        for directory in ["/checkouts", "/checkouts/" + project.rawValue] {
            do { try Self.makePrivateDirectory(root + directory) } catch {
                throw BuildError("filesystem", "cannot create \(root + directory): \(error)")
            }
        }
    }

    /// Makes the private directories a build of `project` uses (0700; existing ones from older versions of dz are
    /// made 0700 too).
    func preparePrivateDirectories(for project: ProjectID) throws(BuildError) {
        try prepareCheckoutDirectory(for: project)
        for directory in ["/builds", "/bundles", "/caches"] {
            do { try Self.makePrivateDirectory(root + directory) } catch {
                throw BuildError("filesystem", "cannot create \(root + directory): \(error)")
            }
        }
    }

    /// Creates `path` (and missing parents, 0755) with mode 0700, or sets an existing directory's mode to 0700.
    static func makePrivateDirectory(_ path: String) throws(Errno) {
        var parent = Substring(path)
        while parent.count > 1, parent.hasSuffix("/") { parent = parent.dropLast() }
        if let slash = parent.lastIndex(of: "/"), slash != parent.startIndex {
            try FileSystem.makeDirectories(String(parent[..<slash]))
        }
        try FileSystem.makeDirectory(path, mode: 0o700)
        guard (try FileSystem.linkStatus(path)).isDirectory else { throw .notDirectory }
        try FileSystem.setMode(path, 0o700)
    }
}
