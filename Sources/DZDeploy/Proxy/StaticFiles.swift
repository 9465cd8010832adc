import DZBundle
import DZSpool
import DZSystem
import Logging

/// Each bundle's static files on a proxy host, which fetches them itself from the bundle store.
///
/// On disk, under `root` (`ProxySettings.staticRoot`):
/// - `<project>/<bundle>/<path>/...`: the static directories of one bundle, each at the path it has in the bundle
///   and nothing else of it (no code, no settings, no manifest). Directories are 0755 and files 0644, readable by
///   nginx's worker user; a symbolic link stays only if it leads to something inside this directory. The
///   directory's modification time is when it was last deployed: after an update the newest other bundle is kept
///   (pages served just before still name its files) and older ones are removed.
/// - `<project>/.incoming-<bundle>-<random>/`: a fetch in progress (0700): the archive, the whole bundle extracted,
///   then only the static directories, renamed into place under the sites lock. A crash leaves it; an update of
///   the project removes such leftovers once a day old.
/// - `<project>/.staged-<bundle>/`: the static directories of a release not yet live, fetched ahead of its switch
///   (`stage_static`, while its instances start) and complete (renamed from a fetch under the sites lock). No site
///   names it: `proxy_update` renames it to `<project>/<bundle>` before it writes the site that serves it. One
///   that never goes live is removed by the failed job's compensation (`unstage_static`) and, whatever is left,
///   by the project's next successful update (`prune`), which no other job of the project runs beside.
/// - `<project>/.replaced-<bundle>-<random>/`, `.discarded-<bundle>-<random>/`: a bundle's directory being
///   replaced by a new fetch of it, a staged directory being removed.
public struct StaticFiles: Sendable {
    /// `ProxySettings.staticRoot`.
    public let root: String

    /// Age in seconds past which a hidden leftover of a crashed fetch is removed.
    static let leftoverAge = 86_400.0

    /// The static files kept under `root`.
    public init(root: String) {
        self.root = root
    }

    /// `<root>/<project>/<bundle>`: where the bundle's static directories are served from.
    public static func directory(root: String, project: ProjectID, bundle: String) -> String {
        root + "/" + project.rawValue + "/" + bundle
    }

    func projectDirectory(_ project: ProjectID) -> String { root + "/" + project.rawValue }

    /// `<root>/<project>/.staged-<bundle>`: where `stage_static` leaves a release's static directories for its
    /// `proxy_update`.
    public static func stagedDirectory(root: String, project: ProjectID, bundle: String) -> String {
        root + "/" + project.rawValue + "/" + stagedPrefix + bundle
    }

    static let stagedPrefix = ".staged-"

    /// A bundle's static directories ready for `install`: a fetch of this task's, or the bundle's staged directory.
    package struct Staged: Sendable {
        /// The fetch's own directory, removed with whatever is left in it; nil for a staged directory, which stays
        /// where it is when not installed (for a retry; the job's compensation or the next update removes it).
        let work: String?
        let tree: String

        init(work: String) {
            self.work = work
            tree = work + "/static"
        }

        init(staged: String) {
            work = nil
            tree = staged
        }

        /// Removes what is left of the fetch (everything, when it was not installed).
        package func discard() {
            if let work { SourceTree.remove(work) }
        }
    }

    /// What `install` did.
    package enum Installed: Sendable, Equatable {
        /// The bundle had no directory here before.
        case new
        /// The bundle's directory was replaced (fetched again, with other mappings).
        case replaced
    }

    /// Whether the bundle's directory is here with every mapped path in it, so that nothing needs fetching.
    package func isComplete(project: ProjectID, bundle: String, mappings: [StaticMapping]) -> Bool {
        let directory = Self.directory(root: root, project: project, bundle: bundle)
        return mappings.allSatisfy { Self.isRealDirectory(directory, $0.path) }
    }

    /// The bundle's staged directory when it is here (a directory itself, not a link) with every mapped path in it.
    package func staged(project: ProjectID, bundle: String, mappings: [StaticMapping]) -> Staged? {
        let directory = Self.stagedDirectory(root: root, project: project, bundle: bundle)
        guard (try? FileSystem.linkStatus(directory))?.isDirectory == true,
              mappings.allSatisfy({ Self.isRealDirectory(directory, $0.path) }) else { return nil }
        return Staged(staged: directory)
    }

    /// Makes a fetch the bundle's staged directory, in one rename, replacing one staged before (with other
    /// mappings). Callers hold `SitesLock`.
    package func publish(_ fetched: Staged, project: ProjectID, bundle: String) throws(ProxyError) {
        _ = try renameIntoPlace(fetched.tree, Self.stagedDirectory(root: root, project: project, bundle: bundle),
                                project: project, aside: ".discarded-" + bundle)
    }

    /// Removes the bundle's staged directory (a release that did not go live); returns whether there was one.
    /// Callers hold `SitesLock`; the served directories are never touched.
    package func unstage(project: ProjectID, bundle: String) async throws(ProxyError) -> Bool {
        let target = Self.stagedDirectory(root: root, project: project, bundle: bundle)
        let aside = asideName(project, ".discarded-" + bundle)
        do throws(Errno) {
            try FileSystem.rename(target, aside)
        } catch .noSuchFileOrDirectory {
            return false
        } catch {
            throw .filesystem(operation: "rename", path: target, error)
        }
        _ = try? await Self.blocking { () throws(ProxyError) in SourceTree.remove(aside) }
        return true
    }

    /// Fetches `<project>/<bundle>.tar.zst`, checks it against `sha256` (else the SHA-256 in the stored manifest),
    /// extracts it, and keeps only the mapped directories, in a hidden directory of the project.
    package func stage(project: ProjectID, bundle: String, sha256: String?, mappings: [StaticMapping],
                       from store: any BundleStore, logger: Logger) async throws(ProxyError) -> Staged
    {
        let projectDirectory = projectDirectory(project)
        let work = asideName(project, ".incoming-" + bundle)
        try Self.step("mkdir", projectDirectory) { () throws(Errno) in
            if !FileSystem.exists(root) {
                try FileSystem.makeDirectories(root, mode: 0o755)
                try FileSystem.setMode(root, 0o755)
            }
            try FileSystem.makeDirectories(projectDirectory, mode: 0o755)
            try FileSystem.setMode(projectDirectory, 0o755)
            try FileSystem.makeDirectory(work, mode: 0o700)
        }
        let staged = Staged(work: work)
        do throws(ProxyError) {
            let key = project.rawValue + "/" + bundle + ".tar.zst"
            let expected = try await Self.expectedSHA256(key: key, given: sha256, work: work, store: store)
            let archive = work + "/bundle.tar.zst"
            logger.debug("fetching bundle for its static files", metadata: ["key": "\(key)"])
            try await Self.fetch(key: key, to: archive, expectedSHA256: expected, store: store)
            let mappings = mappings
            let extracted = try await Self.blocking { () throws(ProxyError) in
                try Self.keepStatic(archive: archive, work: work, bundle: bundle, mappings: mappings)
            }
            logger.info("static files fetched", metadata: ["bundle": "\(bundle)", "directories": "\(extracted)"])
            return staged
        } catch {
            staged.discard()
            throw error
        }
    }

    /// Renames the staged directories into place as `<project>/<bundle>`, replacing a directory of that bundle.
    package func install(_ staged: Staged, project: ProjectID, bundle: String) throws(ProxyError) -> Installed {
        try renameIntoPlace(staged.tree, Self.directory(root: root, project: project, bundle: bundle),
                            project: project, aside: ".replaced-" + bundle)
            ? .replaced : .new
    }

    /// Renames `tree` to `target` in the project's directory, a directory there already renamed aside first (to a
    /// name starting with `aside`) and removed after; returns whether one was replaced. The project's directory is
    /// fsynced after.
    private func renameIntoPlace(_ tree: String, _ target: String, project: ProjectID, aside: String)
        throws(ProxyError) -> Bool
    {
        defer { try? FileSystem.syncDirectory(projectDirectory(project)) }
        do throws(Errno) {
            try FileSystem.renameNoReplace(tree, target)
            return false
        } catch .fileExists, .directoryNotEmpty {
            let aside = asideName(project, aside)
            try Self.step("rename", target) { () throws(Errno) in
                try FileSystem.rename(target, aside)
                try FileSystem.rename(tree, target)
            }
            SourceTree.remove(aside)
            return true
        } catch {
            throw .filesystem(operation: "rename", path: target, error)
        }
    }

    /// A fresh name in the project's directory starting with `prefix` (a hidden one: no site serves it).
    private func asideName(_ project: ProjectID, _ prefix: String) -> String {
        projectDirectory(project) + "/" + prefix + "-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
    }

    /// Records that the bundle was deployed now (its directory's modification time), when it has static files.
    package func markDeployed(project: ProjectID, bundle: String) {
        try? FileSystem.touch(Self.directory(root: root, project: project, bundle: bundle))
    }

    /// Removes the bundle's directory (a deployment that did not happen).
    package func remove(project: ProjectID, bundle: String) async {
        let directory = Self.directory(root: root, project: project, bundle: bundle)
        _ = try? await Self.blocking { () throws(ProxyError) in SourceTree.remove(directory) }
    }

    /// Removes every bundle directory of `project` but `current` and the most recently deployed other one, every
    /// staged directory (what is staged now is either live or of a release that did not go live: the project's
    /// deploying jobs run one at a time), and other hidden leftovers older than a day; returns the bundles
    /// removed.
    package func prune(project: ProjectID, keeping current: String) async -> [String] {
        let projectDirectory = projectDirectory(project)
        guard let names = try? FileSystem.names(in: projectDirectory) else { return [] }
        let now = Timestamp.now()
        var others: [(name: String, deployed: Timestamp)] = []
        var doomed: [String] = []
        for name in names {
            guard let status = try? FileSystem.linkStatus(projectDirectory + "/" + name) else { continue }
            if name.hasPrefix(Self.stagedPrefix) {
                doomed.append(name)
            } else if name.hasPrefix(".") {
                if now - status.modified > Self.leftoverAge { doomed.append(name) }
            } else if name != current {
                others.append((name, status.modified))
            }
        }
        others.sort { $0.deployed > $1.deployed }
        let removed = others.dropFirst().map(\.name)
        doomed += removed
        let paths = doomed.map { projectDirectory + "/" + $0 }
        _ = try? await Self.blocking { () throws(ProxyError) in
            for path in paths { SourceTree.remove(path) }
        }
        return removed
    }

    /// Removes every static file of `project`.
    package func removeProject(_ project: ProjectID) async {
        let directory = projectDirectory(project)
        _ = try? await Self.blocking { () throws(ProxyError) in SourceTree.remove(directory) }
    }

    /// The SHA-256 the archive must have: the task's, else the one in the manifest stored beside it.
    private static func expectedSHA256(key: String, given: String?, work: String, store: any BundleStore)
        async throws(ProxyError) -> String
    {
        if let given { return given }
        let manifestPath = work + "/bundle.manifest.json"
        try await fetch(key: key + BundleArchive.manifestSuffix, to: manifestPath, expectedSHA256: nil, store: store)
        let manifest: BundleManifest
        do { manifest = try BundleManifest.read(from: manifestPath) } catch {
            throw .bundle("the stored manifest of \(key): \(error)")
        }
        try? FileSystem.unlink(manifestPath)
        guard let sha256 = manifest.archiveSHA256, SHA256Digest.isHex(sha256) else {
            throw .bundle("the stored manifest of \(key) has no archive SHA-256")
        }
        return sha256
    }

    private static func fetch(key: String, to path: String, expectedSHA256: String?, store: any BundleStore)
        async throws(ProxyError)
    {
        do {
            _ = try await store.get(key: key, to: path, expectedSHA256: expectedSHA256)
        } catch BundleStoreError.notFound(let key) {
            throw .bundleNotFound(key: key)
        } catch let error as BundleStoreError {
            if case .checksumMismatch = error { throw .checksum(error.description) }
            throw .storage(error.description)
        } catch {
            throw .storage("bundle store: \(key): \(error)")
        }
    }

    package static func step<T>(_ operation: String, _ path: String, _ body: () throws(Errno) -> T) throws(ProxyError) -> T {
        do { return try body() } catch { throw .filesystem(operation: operation, path: path, error) }
    }

    /// Runs file system work that can take a while (extracting, removing trees) on a thread of its own.
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () throws(ProxyError) -> T) async throws(ProxyError)
        -> T
    {
        do {
            return try await BlockingCall.run(body)
        } catch let error as ProxyError {
            throw error
        } catch {
            throw .bundle("\(error)")
        }
    }
}
