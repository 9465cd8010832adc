#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DZSpool
import DZSystem

/// A project's file in the sites directory, and the hidden files kept beside it.
///
/// On disk, in the sites directory:
/// - `dz_<project>.conf`: the live site. It is replaced by writing `.dz_<project>.conf.tmp-<pid>` (0644, fsynced)
///   and renaming it over the old one, then fsyncing the directory: nginx never reads half a file.
/// - `.dz_<project>.conf.previous`: the file the last update replaced (a hard link made before the rename), so that
///   a site nginx refuses is put back, and so that one can go back by hand.
/// - `.removed/dz_<project>.conf`: the last site `remove_proxy_conf` took away, for the same reasons.
///
/// - `.dz_<project>.json`: the arguments of the last `proxy_update` that took effect (`ProxyUpdateRequest`), so
///   that installing a certificate renders the same site again, with TLS.
///
/// Names starting with a dot are never read by nginx's `include <sites>/*` or `*.conf`. Callers hold `SitesLock`.
package struct SiteFile {
    let directory: String
    let project: ProjectID

    package init(directory: String, project: ProjectID) {
        self.directory = directory
        self.project = project
    }

    package var path: String { directory + "/dz_" + project.rawValue + ".conf" }
    var previousPath: String { directory + "/.dz_" + project.rawValue + ".conf.previous" }
    var removedDirectory: String { directory + "/.removed" }
    var removedPath: String { removedDirectory + "/dz_" + project.rawValue + ".conf" }
    var argumentsPath: String { directory + "/.dz_" + project.rawValue + ".json" }
    private var temporaryPath: String { directory + "/.dz_" + project.rawValue + ".conf.tmp-\(getpid())" }

    /// Whether the live site exists.
    package var exists: Bool { FileSystem.exists(path) }

    /// Puts `text` in place of the live site, keeping the file it replaces as `.previous`; returns whether there
    /// was one.
    package func replace(with text: String) throws(ProxyError) -> Bool {
        let temporary = temporaryPath
        try? FileSystem.unlink(temporary)
        try step("write", temporary) { () throws(Errno) in
            try FileIO.create(temporary, bytes: Array(text.utf8), mode: 0o644, sync: true)
        }
        var hadPrevious = false
        do throws(ProxyError) {
            hadPrevious = try keep(path, as: previousPath)
            try step("rename", path) { () throws(Errno) in try FileSystem.rename(temporary, path) }
        } catch {
            try? FileSystem.unlink(temporary)
            throw error
        }
        // The new site is not durable until its directory is synced: a failed fsync puts the previous one back
        // (so that the caller's nginx keeps what it had) and fails the update.
        do throws(Errno) { try FileSystem.syncDirectory(directory) } catch {
            try? restore(hadPrevious: hadPrevious)
            throw .filesystem(operation: "fsync", path: directory, error)
        }
        return hadPrevious
    }

    /// Undoes `replace`: the `.previous` file goes back in place (and stays kept), or the live site is removed when
    /// `replace` found none.
    /// An undo: its directory fsync is best effort, as there is nothing further to fall back to.
    package func restore(hadPrevious: Bool) throws(ProxyError) {
        if hadPrevious {
            let temporary = temporaryPath
            try? FileSystem.unlink(temporary)
            try step("link", temporary) { () throws(Errno) in try FileSystem.link(previousPath, temporary) }
            try step("rename", path) { () throws(Errno) in try FileSystem.rename(temporary, path) }
        } else {
            do throws(Errno) {
                try FileSystem.unlink(path)
            } catch .noSuchFileOrDirectory {
                // Nothing to take away.
            } catch {
                throw .filesystem(operation: "unlink", path: path, error)
            }
        }
        try? FileSystem.syncDirectory(directory)
    }

    /// Moves the live site to `.removed/`; returns false when there was none.
    package func moveAside() throws(ProxyError) -> Bool {
        guard exists else { return false }
        try step("mkdir", removedDirectory) { () throws(Errno) in
            try FileSystem.makeDirectories(removedDirectory, mode: 0o755)
        }
        do throws(Errno) {
            try FileSystem.rename(path, removedPath)
        } catch .noSuchFileOrDirectory {
            return false
        } catch {
            throw .filesystem(operation: "rename", path: path, error)
        }
        try? FileSystem.syncDirectory(directory)
        return true
    }

    /// Puts back the site `moveAside` took away.
    package func putBack() throws(ProxyError) {
        try step("rename", removedPath) { () throws(Errno) in try FileSystem.renameNoReplace(removedPath, path) }
        try? FileSystem.syncDirectory(directory)
    }

    /// Removes the `.previous` copy and the kept arguments (the project is gone).
    package func forgetPrevious() {
        try? FileSystem.unlink(previousPath)
        try? FileSystem.unlink(argumentsPath)
    }

    /// Keeps the arguments of the update that just took effect (atomically replacing the last ones).
    package func keepArguments(_ arguments: [String: JSONValue]) throws(ProxyError) {
        try step("write", argumentsPath) { () throws(Errno) in
            try FileIO.replace(argumentsPath, bytes: JSONValue.object(arguments).serialized(), mode: 0o644, sync: true)
        }
    }

    /// The arguments of the last update that took effect, or nil when there was none (or they cannot be read).
    package func keptArguments() -> [String: JSONValue]? {
        guard case .contents(let bytes, _)? = try? FileIO.read(argumentsPath, limit: 1 << 20),
              case .object(let object)? = try? JSONValue.parse(bytes)
        else { return nil }
        return object
    }

    /// Makes `copy` another name of `original` (replacing an older `copy`); false when `original` does not exist.
    private func keep(_ original: String, as copy: String) throws(ProxyError) -> Bool {
        let temporary = copy + ".tmp-\(getpid())"
        try? FileSystem.unlink(temporary)
        do throws(Errno) {
            try FileSystem.link(original, temporary)
        } catch .noSuchFileOrDirectory {
            return false
        } catch {
            throw .filesystem(operation: "link", path: temporary, error)
        }
        do throws(Errno) {
            try FileSystem.rename(temporary, copy)
        } catch {
            try? FileSystem.unlink(temporary)
            throw .filesystem(operation: "rename", path: copy, error)
        }
        return true
    }

    private func step(_ operation: String, _ path: String, _ body: () throws(Errno) -> Void) throws(ProxyError) {
        do { try body() } catch { throw .filesystem(operation: operation, path: path, error) }
    }
}
