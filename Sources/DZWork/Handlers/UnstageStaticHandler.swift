import DZAgent
import DZBuild
import DZDeploy
import DZSpool
import DZTasks

/// `unstage_static` (queue `proxy`): removes the static files `stage_static` staged for a release that did not go
/// live, `<static>/<project>/.staged-<bundle>`, holding `SitesLock`. The release steps' compensation: a failed or
/// cancelled deploy leaves nothing staged behind. It never touches a bundle's served directory
/// (`<static>/<project>/<bundle>`), so it is harmless when the release did go live (its `proxy_update` renamed the
/// staged directory there) or when nothing was staged. Arguments: `project`, `bundle`. Output: `removed` (whether
/// a staged directory was there), `directory` (its path).
public struct UnstageStaticHandler: TaskHandler {
    public let name = "unstage_static"
    public let workspace: Workspace
    public let settings: ProxySettings
    /// Seconds to wait for another proxy change on this host before failing (retryably, kind `busy`).
    public var lockTimeout: Double = 600

    public init(workspace: Workspace, settings: ProxySettings) {
        self.workspace = workspace
        self.settings = settings
    }

    public func run(_ context: TaskContext) async throws -> [String: JSONValue] {
        let arguments = try context.arguments(of: UnstageStaticTask.self)
        let bundle = try BundleNames.bundle(arguments.bundle, of: arguments.project)
        do throws(ProxyError) {
            try settings.validate()
            let lock = try await SitesLock.acquire(directory: settings.sitesDirectory, timeout: lockTimeout)
            defer { lock.unlock() }
            let removed = try await StaticFiles(root: settings.staticRoot).unstage(project: arguments.project,
                                                                                   bundle: bundle)
            let directory = StaticFiles.stagedDirectory(root: settings.staticRoot, project: arguments.project,
                                                        bundle: bundle)
            context.logger.info("staged static files removed",
                                metadata: ["directory": "\(directory)", "removed": "\(removed)"])
            return UnstageStaticTask.Output(removed: removed, directory: directory).json
        } catch {
            throw error.taskFailure
        }
    }
}
