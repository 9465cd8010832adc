import DZAgent
import DZBuild
import DZBundle
import DZDeploy
import DZSpool
import DZSystem
import DZTasks
import Foundation
import Logging

/// `bundle_upload` (queue `build`): puts a bundle this host built into the bundle store as
/// `<project>/<bundle>.tar.zst` with its manifest beside it, after checking the archive against the manifest.
/// Arguments: `project`, `bundle` (its name: the file is always taken from this host's `<data>/bundles/`, never a
/// path from the task), optional `remove_build` (delete the local archive too once stored). The build directory
/// `<data>/builds/<bundle>/` is removed once the bundle is stored.
public struct BundleUploadHandler: TaskHandler {
    public let name = "bundle_upload"
    public let workspace: Workspace
    public let store: any BundleStore
    public let storeURL: String

    public init(workspace: Workspace, store: any BundleStore, storeURL: String) {
        self.workspace = workspace
        self.store = store
        self.storeURL = storeURL
    }

    public func run(_ context: TaskContext) async throws -> [String: JSONValue] {
        let args = try context.arguments(of: BundleUploadTask.self)
        let project = args.project
        let bundle = try BundleNames.bundle(args.bundle, of: project)
        let archive = workspace.root + "/bundles/" + bundle + ".tar.zst"
        let manifestPath = BundleArchive.manifestPath(for: archive)
        guard FileSystem.exists(archive) else {
            throw TaskFailure(kind: "not-found", message: "no bundle \(bundle) on this host (\(archive))", retryable: false)
        }
        let manifest: BundleManifest
        do { manifest = try BundleManifest.read(from: manifestPath) } catch {
            throw TaskFailure(kind: "manifest", message: "\(manifestPath): \(error)", retryable: false)
        }
        let actual: String
        do { actual = try SHA256Digest.file(at: archive) } catch {
            throw TaskFailure(kind: "filesystem", message: "cannot read \(archive): \(error)", retryable: false)
        }
        guard actual == manifest.archiveSHA256 else {
            throw TaskFailure(kind: "checksum", message: "\(archive) does not match its manifest", retryable: false)
        }
        let key = project.rawValue + "/" + bundle + ".tar.zst"
        let stored: StoredObject
        do {
            stored = try await store.put(file: archive, key: key)
            _ = try await store.put(file: manifestPath, key: key + ".manifest.json")
        } catch {
            throw TaskFailure(kind: "storage", message: "\(error)", retryable: true)
        }
        guard stored.sha256 == nil || stored.sha256 == actual else {
            throw TaskFailure(kind: "checksum", message: "the store received other bytes than \(archive)", retryable: true)
        }
        // The build tree (code, virtualenv, static files: hundreds of MB for a real project) is in the archive
        // now, and the archive in the store: the tree goes, on a thread of its own.
        let tree = workspace.root + "/builds/" + bundle
        _ = try? await BlockingCall.run { SourceTree.remove(tree) }
        if args.removeBuild {
            try? FileSystem.unlink(archive)
            try? FileSystem.unlink(manifestPath)
        }
        var output = BundleUploadTask.Output(bundle: bundle)
        output.key = key
        output.url = stored.url
        output.store = storeURL
        output.sha256 = actual
        output.size = stored.size
        output.codeRevision = manifest.codeRevision
        output.pythonVersion = manifest.pythonVersion ?? ""
        output.djangoVersion = manifest.djangoVersion ?? ""
        return output.json
    }
}
