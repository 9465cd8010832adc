import DZAgent

/// Every handler dz ships, for a host with the given data directory. To add a task: write its handler in a file of
/// its own under Handlers/ and list it here.
public enum WorkHandlers {
    public static func registry(workspace: Workspace, allowLocalSources: Bool = false,
                                database: DatabaseSettings = DatabaseSettings(),
                                bundleStore: StorageLocation = .directory("/var/lib/dz/bundles")) -> HandlerRegistry
    {
        let store = StorageLocation.store(for: bundleStore)
        return HandlerRegistry.standard
            .adding(CheckRepoHandler(workspace: workspace, allowLocalSources: allowLocalSources))
            .adding(BuildBundleHandler(workspace: workspace, allowLocalSources: allowLocalSources))
            .adding(CreateDatabaseHandler(workspace: workspace, settings: database))
            .adding(DropDatabaseHandler(workspace: workspace, settings: database))
            .adding(BundleUploadHandler(workspace: workspace, store: store, storeURL: bundleStore.url))
            .adding(DeleteVersionsHandler(store: store))
    }

    /// The task names dz knows (for `dz send` and `dz drop` to check against).
    public static var names: [String] { registry(workspace: Workspace(root: "var")).names }
}
