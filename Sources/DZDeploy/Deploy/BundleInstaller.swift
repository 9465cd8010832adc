import DZBundle
import DZSpool
import DZSystem
import Foundation
import Logging

/// Puts a bundle from the bundle store into an app's directory: `<appsRoot>/<project>/<bundle>/`, owned by the
/// app's user, ready to run.
///
/// The archive is downloaded and checked against the deploy's `sha256` (else the stored manifest's
/// `archive_sha256`) and extracted (safely: see `BundleArchive.extract`). The interpreter is the allowed one
/// (`AllowedPythons`) for the Python version of the manifest inside that checked archive: the venv's
/// `bin/python*` are made links to it and its `pyvenv.cfg` is written anew, so nothing the build's code wrote there
/// decides which interpreter runs or what the sandbox binds. Then the tree is handed to the app's user and renamed
/// into place. All of that happens in `<appsRoot>/.staging` (root's, mode 0700), out of the app's reach; the rename
/// into the app's directory is the only step there, and it never replaces anything.
///
/// The bundle's `venv/` is the project's shared one when this host has it (`SharedVirtualenvs`: the same venv
/// entries in the checked archive's manifest, the same interpreter): then the archive's venv entries, its last, are
/// not even read, and `venv` is a link to the shared directory, root's and read-only to the app. Otherwise the
/// venv is extracted, given its interpreter and becomes the shared one of its key, and the bundle links to it too.
///
/// What was installed is recorded where the app cannot write (`InstalledBundle`, beside the instance records). A
/// bundle is reused only when both its record and its directory are there; a directory without a record (made by
/// the app, or left by an install that died before its record) is moved aside and removed, never trusted. Installs
/// of one project take the lock `install-<project>`, so two deploys of one bundle never race.
package struct BundleInstaller: Sendable {
    let settings: AppServerSettings
    let store: any BundleStore

    package init(settings: AppServerSettings, store: any BundleStore) {
        self.settings = settings
        self.store = store
    }

    /// The bundle's directory and its interpreter, installed now or earlier; `installed` is false when it was
    /// there already; `venv` is the shared venv its `venv` links to (nil for a bundle an older dz installed with a
    /// venv of its own), for the sandbox to show read-only. Its stages are lapped on `stages`.
    package func install(project: ProjectID, bundle: String, sha256: String?, user: AppUser, logger: Logger,
                         stages: inout DeployStages)
        async throws(DeployError) -> (directory: String, interpreter: String, installed: Bool, venv: String?)
    {
        let records = InstanceDirectory(root: settings.instancesRoot)
        let held: FileLock
        do { held = try await records.lock("install-" + project.rawValue, timeout: 1800) } catch {
            throw (error as? DeployError) ?? .launch("cannot lock the install of \(bundle): \(error)")
        }
        defer { held.unlock() }
        let appDirectory = settings.appDirectory(project.rawValue)
        let target = appDirectory + "/" + bundle
        let venvs = SharedVirtualenvs(settings: settings, project: project.rawValue)
        if let known = try records.installedBundle(project: project.rawValue, bundle: bundle),
           (try? FileSystem.linkStatus(target))?.isDirectory == true
        {
            let interpreter = try settings.pythons.interpreter(forVersion: known.pythonVersion)
            guard let key = known.venv else { return (target, interpreter, false, nil) }
            if let shared = venvs.existing(key) { return (target, interpreter, false, shared) }
            // Its shared venv is gone: installed anew below.
            records.removeInstalledBundle(project: project.rawValue, bundle: bundle)
        }
        try discardUnrecorded(bundle, in: appDirectory, logger: logger)

        let staging = settings.appsRoot + "/.staging"
        do {
            try FileSystem.makeDirectories(staging, mode: 0o700)
            try FileSystem.setMode(staging, 0o700)
        } catch {
            throw .filesystem("create", path: staging, error)
        }
        let stem = staging + "/" + bundle + "." + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let archive = stem + ".tar.zst"
        let extracted = stem + ".d"
        defer {
            try? FileSystem.unlink(archive)
            try? FileSystem.unlink(stem + ".manifest.json")
            SourceTree.remove(extracted)
        }
        let key = project.rawValue + "/" + bundle + ".tar.zst"
        stages.lap("install lock")
        let expected = try await expectedChecksum(key: key, given: sha256, manifestPath: stem + ".manifest.json")
        do {
            _ = try await store.get(key: key, to: archive, expectedSHA256: expected)
        } catch let error as BundleStoreError {
            throw Self.storageError(error, key: key)
        } catch {
            throw .storage("cannot fetch \(key): \(error)", retryable: true)
        }
        stages.lap("fetch")
        // The manifest inside the checked archive (its first entry) says which venv the bundle carries: one this
        // project has here already is not written again.
        var venvKey: String?
        var shared: String?
        let manifest: BundleManifest
        do {
            manifest = try BundleArchive.extract(archive, into: extracted) { listed in
                guard listed.name == bundle, listed.project == project.rawValue,
                      let interpreter = try? settings.pythons.interpreter(forVersion: listed.pythonVersion)
                else { return [] }
                venvKey = SharedVirtualenvs.key(of: listed, interpreter: interpreter)
                shared = venvKey.flatMap { venvs.existing($0) }
                return shared == nil ? [] : ["venv"]
            }
        } catch {
            throw .bundle("cannot extract \(bundle): \(error)")
        }
        stages.lap("extract")
        guard manifest.name == bundle, manifest.project == project.rawValue else {
            throw .bundle("\(key) holds bundle \(manifest.name) of project \(manifest.project), not \(bundle)")
        }
        let interpreter = try settings.pythons.interpreter(forVersion: manifest.pythonVersion)
        if shared == nil {
            try Self.linkInterpreter(venv: extracted, interpreter: interpreter, version: manifest.pythonVersion ?? "")
            if let venvKey { shared = try await venvs.adopt(extracted + "/venv", key: venvKey, user: user) }
            stages.lap("venv")
        }
        if let shared {
            do { try DirectoryHandle.open(extracted).makeSymbolicLink("venv", target: shared) } catch {
                throw .filesystem("link the shared venv into", path: extracted, error)
            }
        }
        if user.switches {
            // `-R` alone never follows a link: the link to the shared venv becomes the app's, not the venv.
            let chown = try? await Subprocess.run(["chown", "-R", "-P", "\(user.uid):\(user.gid)", "--", extracted],
                                                  environment: ["PATH": "/usr/bin:/bin", "LANG": "C"], timeout: 600)
            guard chown?.succeeded == true else {
                throw .filesystem("chown", path: extracted, .notPermitted)
            }
            stages.lap("chown")
        }
        try records.save(InstalledBundle(project: project.rawValue, bundle: bundle, sha256: expected,
                                         pythonVersion: manifest.pythonVersion ?? "", interpreter: interpreter,
                                         installed: Timestamp.now().rfc3339, venv: shared == nil ? nil : venvKey))
        do {
            try FileSystem.renameNoReplace(extracted, target)
            try? FileSystem.syncDirectory(appDirectory)
        } catch {
            records.removeInstalledBundle(project: project.rawValue, bundle: bundle)
            throw .filesystem("rename into place", path: target, error)
        }
        stages.lap("install record")
        logger.info("bundle installed", metadata: ["bundle": "\(bundle)", "directory": "\(target)",
                                                   "python": "\(interpreter)", "venv": "\(shared ?? "its own")",
                                                   "seconds": "\(stages.text)"])
        return (target, interpreter, true, shared)
    }

    /// Moves a directory named like the bundle that this host has no record of out of the way and removes it.
    private func discardUnrecorded(_ bundle: String, in appDirectory: String, logger: Logger) throws(DeployError) {
        do {
            let app = try DirectoryHandle.open(appDirectory)
            guard app.entry(bundle) != nil else { return }
            let aside = ".discarded-" + bundle + "-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
            try app.rename(bundle, to: aside)
            logger.warning("a bundle directory this host did not record was removed",
                           metadata: ["directory": "\(appDirectory)/\(bundle)"])
            SourceTree.remove(appDirectory + "/" + aside)
        } catch .noSuchFileOrDirectory {
            return
        } catch {
            throw .filesystem("remove the unrecorded", path: appDirectory + "/" + bundle, error)
        }
    }

    /// In the staged bundle: `venv/bin/python`, `python3` and `python<major.minor>` become links to `interpreter`
    /// (whatever the archive had under a `python*` name there is removed), and `venv/pyvenv.cfg` is written anew
    /// with `home` the interpreter's directory. Each step refuses a link on the way (`O_NOFOLLOW`).
    static func linkInterpreter(venv bundleDirectory: String, interpreter: String, version: String)
        throws(DeployError)
    {
        let minor = version.split(separator: ".").prefix(2).joined(separator: ".")
        let home = String(interpreter[..<(interpreter.lastIndex(of: "/") ?? interpreter.startIndex)])
        do {
            let venv = try DirectoryHandle.open(bundleDirectory).directory("venv")
            let bin = try venv.directory("bin")
            for name in try bin.names() where name.hasPrefix("python") {
                try bin.unlink(name)
            }
            for name in ["python", "python3", "python" + minor] {
                try bin.makeSymbolicLink(name, target: interpreter)
            }
            let configuration = "home = \(home)\ninclude-system-site-packages = false\nversion = \(version)\n"
                + "executable = \(interpreter)\n"
            try venv.replaceFile("pyvenv.cfg", bytes: Array(configuration.utf8), mode: 0o644, owner: nil)
        } catch {
            throw .bundle("the bundle's venv cannot be given its interpreter \(interpreter): \(error) (venv and "
                + "venv/bin must be directories, and venv/bin/python* files or links)")
        }
    }

    /// The given SHA-256, else the stored manifest's `archive_sha256`.
    private func expectedChecksum(key: String, given: String?, manifestPath: String) async throws(DeployError)
        -> String
    {
        if let given { return given }
        do {
            _ = try await store.get(key: key + ".manifest.json", to: manifestPath)
        } catch let error as BundleStoreError {
            throw Self.storageError(error, key: key + ".manifest.json")
        } catch {
            throw .storage("cannot fetch \(key).manifest.json: \(error)", retryable: true)
        }
        guard let manifest = try? BundleManifest.read(from: manifestPath), let sha256 = manifest.archiveSHA256 else {
            throw .bundle("\(key).manifest.json names no archive_sha256, and the task gave no sha256")
        }
        return sha256
    }

    private static func storageError(_ error: BundleStoreError, key: String) -> DeployError {
        switch error {
        case .notFound: .storage("the bundle store has no \(key)", retryable: false)
        case .checksumMismatch: .bundle("\(key) does not match its SHA-256")
        default: .storage("cannot fetch \(key): \(error)", retryable: true)
        }
    }
}
