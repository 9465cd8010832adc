import DZSpool
import DZSystem
import Foundation
import Logging

/// Puts a bundle from the bundle store into an app's directory: `<appsRoot>/<project>/<bundle>/`, owned by the
/// app's user, ready to run.
///
/// The archive is downloaded and checked against the deploy's `sha256` (else the stored manifest's
/// `archive_sha256`), extracted (safely: see `BundleArchive.extract`), given back its interpreter links
/// (`Interpreter.restore`), handed to the app's user, and renamed into place. All of that happens in
/// `<appsRoot>/.staging` (root's, mode 0700), out of the app's reach; the rename into the app's directory is the
/// only step there, and it never replaces anything. A bundle already in place is complete (it got there by that
/// rename) and is reused.
struct BundleInstaller: Sendable {
    let settings: AppServerSettings
    let store: any BundleStore

    /// The bundle's directory, installed now or earlier; `installed` is false when it was there already.
    func install(project: ProjectID, bundle: String, sha256: String?, user: AppUser, logger: Logger)
        async throws(DeployError) -> (directory: String, installed: Bool)
    {
        let appDirectory = settings.appDirectory(project.rawValue)
        let target = appDirectory + "/" + bundle
        if isInstalled(target) { return (target, false) }

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
        let expected = try await expectedChecksum(key: key, given: sha256, manifestPath: stem + ".manifest.json")
        do {
            _ = try await store.get(key: key, to: archive, expectedSHA256: expected)
        } catch let error as BundleStoreError {
            throw Self.storageError(error, key: key)
        } catch {
            throw .storage("cannot fetch \(key): \(error)", retryable: true)
        }
        let manifest: BundleManifest
        do { manifest = try BundleArchive.extract(archive, into: extracted) } catch {
            throw .bundle("cannot extract \(bundle): \(error)")
        }
        guard manifest.name == bundle, manifest.project == project.rawValue else {
            throw .bundle("\(key) holds bundle \(manifest.name) of project \(manifest.project), not \(bundle)")
        }
        do { try Interpreter.restore(venv: extracted + "/venv") } catch {
            throw .bundle("\(bundle): \(error)")
        }
        if user.switches {
            let chown = try? await Subprocess.run(["chown", "-R", "\(user.uid):\(user.gid)", "--", extracted],
                                                  environment: ["PATH": "/usr/bin:/bin", "LANG": "C"], timeout: 600)
            guard chown?.succeeded == true else {
                throw .filesystem("chown", path: extracted, .notPermitted)
            }
        }
        do {
            try FileSystem.renameNoReplace(extracted, target)
            try? FileSystem.syncDirectory(appDirectory)
        } catch .fileExists, .directoryNotEmpty {
            // Another deploy of the same bundle got there first: what it put there is complete.
            guard isInstalled(target) else { throw .bundle("\(target) exists and is not an installed bundle") }
            return (target, false)
        } catch {
            throw .filesystem("rename into place", path: target, error)
        }
        logger.info("bundle installed", metadata: ["bundle": "\(bundle)", "directory": "\(target)"])
        return (target, true)
    }

    /// A real directory (not a link) holding the bundle's manifest.
    func isInstalled(_ directory: String) -> Bool {
        (try? FileSystem.linkStatus(directory))?.isDirectory == true
            && (try? FileSystem.linkStatus(directory + "/" + BundleManifest.fileName))?.isRegular == true
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
