import DZAgent
import DZSpool

/// `delete_versions` (queue `build`): removes bundles of a project from the bundle store (archive and manifest).
/// Arguments: `project`, `bundles` (an array of bundle names). A bundle already gone is not an error.
public struct DeleteVersionsHandler: TaskHandler {
    public let name = "delete_versions"
    public let store: any BundleStore

    public init(store: any BundleStore) { self.store = store }

    public func run(_ context: TaskContext) async throws -> [String: JSONValue] {
        let project = try context.project()
        guard case .array(let items)? = context.args["bundles"] else {
            throw TaskFailure.badArgs("argument \"bundles\" must be an array of bundle names")
        }
        var deleted: [JSONValue] = []
        for item in items {
            guard let text = item.stringValue else { throw TaskFailure.badArgs("bundle names must be strings") }
            let bundle = try BundleNames.bundle(text, of: project)
            let key = project.rawValue + "/" + bundle + ".tar.zst"
            do {
                try await store.delete(key: key)
                try await store.delete(key: key + ".manifest.json")
            } catch {
                throw TaskFailure(kind: "storage", message: "\(error)", retryable: true)
            }
            deleted.append(.string(bundle))
        }
        return ["deleted": .array(deleted)]
    }
}
