import DZBundle
import DZSystem
import Logging

/// A project's virtualenvs on an appserver, each shared by the project's bundles that carry the same one:
/// `<appsRoot>/.venvs/<project>/<key>/`, extracted once, root's and read-only to the app.
///
/// Why: a bundle's `venv/` is thousands of files that a redeploy of a code change carries unchanged; extracting,
/// hashing and handing them to the app's user again was most of a warm deploy. A bundle whose venv is one the
/// project has here already gets `venv` as a link to it, and only its own few files are written.
///
/// The key is the SHA-256 of the interpreter the venv is given (`BundleInstaller.linkInterpreter`) and of every
/// `venv/` entry of the manifest (path, kind, size, execute bit, SHA-256, link target): the manifest inside the
/// archive whose SHA-256 the deploy checked, never anything on the appserver that an app can write. A shared venv
/// is the extraction of an archive whose entries agreed with such a manifest, so a bundle whose manifest gives
/// the same key gets the very files its manifest lists.
///
/// Isolation: `.venvs` is root's (0711); `<project>/` is root's with the app's group, mode 0750, so no other
/// tenant can enter it and no other project's bundles use it; everything in it is root's, directories 0755 and
/// files 0644 or 0755, so the app reads and runs its venv but cannot change it (a change would reach every bundle
/// that shares it, a rollback's too). It is in no app's directory, so an app cannot rename it away and put its own
/// in its place. A shared venv appears under its key only complete (prepared in root's staging directory, then
/// renamed), and goes when no installed bundle of the project names it (`removeUnused`).
package struct SharedVirtualenvs: Sendable {
    let settings: AppServerSettings
    let project: String

    package init(settings: AppServerSettings, project: String) {
        self.settings = settings
        self.project = project
    }

    /// `<appsRoot>/.venvs`.
    var root: String { settings.appsRoot + "/" + Self.directoryName }
    /// `<appsRoot>/.venvs/<project>`.
    var directory: String { root + "/" + project }

    static let directoryName = ".venvs"

    func path(_ key: String) -> String { directory + "/" + key }

    /// The key of the bundle's venv given `interpreter`, from its manifest; nil when the manifest lists no `venv/`.
    static func key(of manifest: BundleManifest, interpreter: String) -> String? {
        let entries = manifest.files.filter { $0.path == "venv" || $0.path.hasPrefix("venv/") }
        guard !entries.isEmpty else { return nil }
        // Fields end with a NUL, which no path, target or number holds: no two lists give the same bytes. They are
        // gathered into one buffer and hashed at once (every deploy computes this over thousands of entries: a
        // digest update per field was most of its cost).
        var bytes: [UInt8] = []
        bytes.reserveCapacity(entries.count * 160)
        func field(_ text: String) {
            bytes.append(contentsOf: text.utf8)
            bytes.append(0)
        }
        field("dz shared venv 1")
        field(interpreter)
        field(manifest.pythonVersion ?? "")
        for entry in entries {
            field(entry.path)
            field(entry.kind.rawValue)
            field(String(entry.size))
            field(entry.executable == true ? "x" : "-")
            field(entry.sha256 ?? "")
            field(entry.target ?? "")
        }
        var digest = SHA256Digest()
        digest.update(bytes)
        return digest.finalize()
    }

    /// The shared venv of `key` when it is here: a directory itself, not a link.
    func existing(_ key: String) -> String? {
        guard Self.isKey(key), (try? FileSystem.linkStatus(path(key)))?.isDirectory == true else { return nil }
        return path(key)
    }

    /// 64 lowercase hex digits.
    static func isKey(_ name: String) -> Bool {
        name.utf8.count == 64 && name.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// Makes the staged `venv` (extracted by this process, in root's staging directory, its interpreter linked) the
    /// shared venv of `key`: every entry made readable by all and writable by its owner alone, then renamed into
    /// `<project>/`, which is made or fixed first. Returns its path.
    func adopt(_ staged: String, key: String, user: AppUser) async throws(DeployError) -> String {
        guard Self.isKey(key) else { throw .bundle("\(key) is not a shared venv's key") }
        do {
            try FileSystem.makeDirectories(settings.appsRoot, mode: 0o711)
            let apps = try DirectoryHandle.open(settings.appsRoot)
            let venvs = try apps.makeDirectory(Self.directoryName, mode: 0o711, owner: user.switches ? (0, 0) : nil)
            // The app's group may enter its own project's venvs; nobody else (root reads them, as it does everything).
            try venvs.makeDirectory(project, mode: user.switches ? 0o750 : 0o700,
                                    owner: user.switches ? (0, user.gid) : nil)
        } catch {
            throw .filesystem("prepare", path: directory, error)
        }
        // u=rwX,go=rX: directories 0755, files 0644, or 0755 with an execute bit; `chmod -R` never follows a link.
        let chmod = try? await Subprocess.run(["chmod", "-R", "u=rwX,go=rX", "--", staged],
                                              environment: ["PATH": "/usr/bin:/bin", "LANG": "C"], timeout: 600)
        guard chmod?.succeeded == true else { throw .filesystem("chmod", path: staged, .notPermitted) }
        let target = path(key)
        do {
            try FileSystem.renameNoReplace(staged, target)
        } catch .fileExists, .directoryNotEmpty {
            // Made by an install of this project since it looked (installs hold the project's lock: not expected).
            SourceTree.remove(staged)
        } catch {
            throw .filesystem("rename into place", path: target, error)
        }
        // Durable before any install record names it: a record that outlived the venv would leave the bundle's
        // `venv` link pointing nowhere after a crash.
        do { try FileSystem.syncDirectory(directory) } catch { throw .filesystem("fsync", path: directory, error) }
        return target
    }

    /// Renames aside every shared venv of the project that `inUse` does not name (and what an earlier call left
    /// aside), and returns the paths to delete. Callers hold the project's install lock.
    package func removeUnused(inUse: Set<String>, logger: Logger) -> [String] {
        guard let names = try? FileSystem.names(in: directory) else { return [] }
        var aside: [String] = []
        for name in names.sorted() {
            if name.hasPrefix(Self.retiredPrefix) {
                aside.append(path(name))
                continue
            }
            guard Self.isKey(name), !inUse.contains(name) else { continue }
            let retired = Self.retiredPrefix + name + "-" + String(UInt64(bitPattern: Timestamp.now().nanoseconds))
            do {
                try FileSystem.rename(path(name), path(retired))
                aside.append(path(retired))
            } catch {
                logger.warning("cannot remove a shared venv", metadata: ["directory": "\(path(name))",
                                                                        "error": "\(error)"])
            }
        }
        return aside
    }

    /// The name prefix of a shared venv renamed aside to be deleted.
    static let retiredPrefix = ".retired-"
}
