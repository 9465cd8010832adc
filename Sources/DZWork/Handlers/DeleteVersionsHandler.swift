import DZAgent
import DZBundle
import DZDeploy
import DZSpool
import DZTasks

/// `delete_versions` (queue `build`): removes bundles of a project from the bundle store (archive and manifest).
/// Arguments: `project`, `bundles` (an array of bundle names). A bundle already gone is not an error.
public struct DeleteVersionsHandler: TaskHandler {
    public let name = "delete_versions"
    public let store: any BundleStore

    public init(store: any BundleStore) { self.store = store }

    public func run(_ context: TaskContext) async throws -> [String: JSONValue] {
        let args = try context.arguments(of: DeleteVersionsTask.self)
        let project = args.project
        var deleted: [String] = []
        for text in args.bundles {
            let bundle = try BundleNames.bundle(text, of: project)
            let key = project.rawValue + "/" + bundle + ".tar.zst"
            do {
                try await store.delete(key: key)
                try await store.delete(key: key + ".manifest.json")
            } catch {
                throw TaskFailure(kind: "storage", message: "\(error)", retryable: true)
            }
            deleted.append(bundle)
        }
        return DeleteVersionsTask.Output(deleted: deleted).json
    }
}
