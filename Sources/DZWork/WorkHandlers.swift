import DZAgent
import DZBuild
import DZBundle
import DZDeploy
import DZSource
import DZSpool

/// Every handler dz ships, for a host with the given data directory. To add a task: write its handler in a file of
/// its own under Handlers/ and list it here.
public enum WorkHandlers {
    /// The handlers of a host. `spool` is where placement reads the agents' heartbeats; `appServer` and `proxy`
    /// default to their settings for `workspace`; `buildLimits` cap checkouts and builds.
    public static func registry(workspace: Workspace, spool: Spool, allowLocalSources: Bool = false,
                                buildLimits: BuildLimits = BuildLimits(),
                                database: DatabaseSettings = DatabaseSettings(),
                                bundleStore: StorageLocation = .directory("/var/lib/dz/bundles"),
                                appServer: AppServerSettings? = nil, proxy: ProxySettings? = nil,
                                pythons: AllowedPythons? = nil) -> HandlerRegistry
    {
        let store = StorageLocation.store(for: bundleStore)
        let appServer = appServer ?? AppServerSettings(workspace: workspace)
        var proxy = proxy ?? ProxySettings(workspace: workspace)
        // The proxy serves media from this host's own appserver directories (see `MediaDirectory`).
        if proxy.mediaRoot == nil { proxy.mediaRoot = appServer.mediaRoot }
        let pythons = pythons ?? appServer.pythons
        return HandlerRegistry.standard
            .adding(CheckRepoHandler(workspace: workspace, allowLocalSources: allowLocalSources, limits: buildLimits,
                                     pythons: pythons))
            .adding(BuildBundleHandler(workspace: workspace, allowLocalSources: allowLocalSources, limits: buildLimits,
                                       pythons: pythons))
            .adding(CreateDatabaseHandler(workspace: workspace, settings: database))
            .adding(DropDatabaseHandler(workspace: workspace, settings: database))
            .adding(BundleUploadHandler(workspace: workspace, store: store, storeURL: bundleStore.url))
            .adding(DeleteVersionsHandler(store: store))
            .adding(DeployHandler(workspace: workspace, store: store, settings: appServer))
            .adding(StopInstancesHandler(settings: appServer))
            .adding(DropMediaHandler(settings: appServer))
            .adding(ScaleWorkersHandler(settings: appServer))
            .adding(PostDeployHooksHandler(settings: appServer))
            .adding(ManagePyHandler(settings: appServer))
            .adding(HealthCheckHandler(settings: appServer))
            .adding(ProxyUpdateHandler(workspace: workspace, store: store, settings: proxy))
            .adding(StageStaticHandler(workspace: workspace, store: store, settings: proxy))
            .adding(UnstageStaticHandler(workspace: workspace, settings: proxy))
            .adding(RemoveProxyConfHandler(workspace: workspace, settings: proxy))
            .adding(InstallCertHandler(settings: proxy))
            .adding(ObtainCertHandler(settings: proxy))
            .adding(RenewCertsHandler(settings: proxy))
            .adding(PlacementHandler(spool: spool))
            .adding(CheckPlacementHandler(spool: spool, pythons: pythons))
            .adding(ReadLogsHandler(appServer: appServer, proxy: proxy))
    }

    /// The task names dz knows (for `dz send` and `dz drop` to check against).
    public static var names: [String] { registry(workspace: Workspace(root: "var"), spool: Spool(root: "spool")).names }
}
