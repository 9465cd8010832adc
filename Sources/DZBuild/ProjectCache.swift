import DZBundle
import DZSource
import DZSpool
import DZSystem

/// A project's own caches on the build host, never shared with another project: what one project's build code
/// wrote (a `.pth` file, a patched package, a poisoned wheel) can only ever reach that same project's builds.
///
/// ```
/// <data>/caches/<project>/              the agent's, 0700
///     pip/                              pip's HTTP and wheel cache (the build user's); bound at /dz/pip-cache
///     venvs/                            the agent's
///         <sha256>/                     a virtualenv (the build user's), reused without pip by the project's
///                                       builds whose Python, requirements and path file hash the same
///         <sha256>.complete             the agent's mark that it was fully made; its time is its last use
///         <sha256>.segment              the agent's (0600): the virtualenv's part of a bundle archive
///         <sha256>.building-<bundle>/   one being made (bound at /dz/venv), renamed when pip succeeded
/// ```
///
/// The project's code gets only `pip/` and the virtualenv being made writable, and only while pip runs; a finished
/// virtualenv is only ever bound read-only. The agent renames and removes entries of `venvs/`, a directory no
/// sandbox ever sees. The newest `keptVirtualenvs` virtualenvs are kept; older ones are removed after a build,
/// each with its segment.
///
/// A segment (`BundleArchive.create`'s `segments`, DZBundle's `ArchiveSegment`) holds what the first archive
/// made from a virtualenv wrote of it: the `venv/` entries of its manifest (paths, sizes, SHA-256s, link
/// targets) and its tar entries compressed as one zstd frame, then a header saying what it was made from and a
/// footer with the header's SHA-256. Later archives of the same virtualenv copy the frame and take the entries
/// instead of reading, hashing and compressing its thousands of files again. The agent writes it (under a
/// `.partial-` name, flushed, renamed), from the files as the archive reads them once no process of the project
/// is left; the project's code can write neither the segment (its directory is the agent's) nor, once it is
/// complete, the virtualenv. It is used only for the virtualenv directory it was made from (device, inode and
/// times of its top: one made again under the same key is another directory, and `keep` removes the old segment
/// anyway) and only whole (a damaged one is removed and the archive written from the files).
struct ProjectCache: Sendable {
    let root: String
    var keptVirtualenvs = 3

    init(workspace: Workspace, project: ProjectID) {
        root = workspace.root + "/caches/" + project.rawValue
    }

    var pip: String { root + "/pip" }
    var venvs: String { root + "/venvs" }
    func venv(_ key: String) -> String { venvs + "/" + key }
    func marker(_ key: String) -> String { venvs + "/" + key + ".complete" }
    func segment(_ key: String) -> String { venvs + "/" + key + ".segment" }

    /// Creates the project's cache directories; returns the ones just made (which a root agent gives to the build
    /// user: an existing `pip/` is the build user's already).
    func prepare() throws(BuildError) -> [String] {
        var made: [String] = []
        do {
            try Workspace.makePrivateDirectory(root)
            try Workspace.makePrivateDirectory(venvs)
            if !FileSystem.exists(pip) {
                try Workspace.makePrivateDirectory(pip)
                made.append(pip)
            }
        } catch {
            throw BuildError("filesystem", "cannot create the cache of \(root): \(error)")
        }
        return made
    }

    /// Whether the virtualenv `key` was made whole; marks it used now.
    func reuse(_ key: String) -> Bool {
        guard (try? FileSystem.linkStatus(marker(key)))?.isRegular == true,
              (try? FileSystem.linkStatus(venv(key)))?.isDirectory == true
        else { return false }
        try? FileSystem.touch(marker(key))
        return true
    }

    /// Keeps the virtualenv made at `building` as `key`, replacing one of that name.
    func keep(_ building: String, as key: String) throws(BuildError) {
        try? FileSystem.unlink(marker(key))
        try? FileSystem.unlink(segment(key))
        SourceTree.remove(venv(key))
        do {
            try FileSystem.rename(building, venv(key))
            try FileIO.create(marker(key), bytes: [], mode: 0o600, sync: false)
        } catch {
            throw BuildError("filesystem", "cannot keep the virtualenv \(venv(key)): \(error)")
        }
    }

    /// Removes all but the `keptVirtualenvs` most recently used virtualenvs (each with its mark and segment), and
    /// what failed builds left.
    func prune(keeping current: String) {
        guard let names = try? FileSystem.names(in: venvs) else { return }
        let used = names.filter { $0.hasSuffix(".complete") }.map { String($0.dropLast(".complete".count)) }
            .compactMap { key in (try? FileSystem.linkStatus(marker(key))).map { (key, $0.modified) } }
            .sorted { $0.1 > $1.1 }.map(\.0)
        let kept = Set([current] + used.prefix(keptVirtualenvs))
        for name in names {
            let key = String(name.prefix { $0 != "." })
            // A virtualenv or segment being made is another build's until it is a day old (an agent that died left
            // it), whatever its key.
            if name.contains(".building-") || name.contains(".partial-") {
                let modified = (try? FileSystem.linkStatus(venvs + "/" + name))?.modified
                if modified.map({ Timestamp.now() - $0 < 86_400 }) != false { continue }
            } else if kept.contains(key) {
                continue
            } else {
                // The mark first: a build never takes a virtualenv that is being removed.
                try? FileSystem.unlink(marker(key))
            }
            SourceTree.remove(venvs + "/" + name)
        }
    }

    /// Whether pip's cache holds more than `maxBytes` or `maxEntries` names: then the build empties it first (in
    /// the sandbox, as the build user: another build of the same project may be writing into it).
    func pipIsOverfull(maxBytes: Int64, maxEntries: Int) -> Bool {
        TreeSize.measure([pip], stopAfter: maxBytes, entries: maxEntries).exceeds(maxBytes: maxBytes,
                                                                                 maxEntries: maxEntries)
    }
}
