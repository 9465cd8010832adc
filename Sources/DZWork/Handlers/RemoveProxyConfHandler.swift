import DZAgent
import DZBuild
import DZDeploy
import DZSpool
import DZTasks

/// `remove_proxy_conf` (queue `proxy`): takes a project's site off this host's nginx. Argument: `project`.
///
/// Holding `SitesLock`, the site file moves to `<sites>/.removed/dz_<project>.conf` (kept for a look or a manual
/// restore, replaced by the next removal; nginx never reads hidden names), `nginx -t` checks what is left (a
/// refusal puts the file back and fails with kind `nginx-config`), and `nginx -s reload` applies it (kind
/// `nginx-reload`, retryable, when it fails). Then the project's static files and the kept `.previous` site are
/// removed.
///
/// Idempotent: without a site file the test and the reload still run (a retry after a failed reload still takes
/// the site away from the running nginx) and the static files are still removed. Output: `removed` (whether a
/// site file was there this time) and `site` (its path).
public struct RemoveProxyConfHandler: TaskHandler {
    public let name = "remove_proxy_conf"
    public let workspace: Workspace
    public let settings: ProxySettings
    /// Seconds to wait for another proxy change on this host before failing (retryably, kind `busy`).
    public var lockTimeout: Double = 600

    public init(workspace: Workspace, settings: ProxySettings) {
        self.workspace = workspace
        self.settings = settings
    }

    public func run(_ context: TaskContext) async throws -> [String: JSONValue] {
        let project = try context.arguments(of: RemoveProxyConfTask.self).project
        do throws(ProxyError) {
            try settings.validate()
            let lock = try await SitesLock.acquire(directory: settings.sitesDirectory, timeout: lockTimeout)
            defer { lock.unlock() }
            let siteFile = SiteFile(directory: settings.sitesDirectory, project: project)
            let removed = try siteFile.moveAside()
            let nginx = NginxController(settings: settings)
            do {
                try await nginx.test()
            } catch {
                if removed { try siteFile.putBack() }
                throw error
            }
            try await nginx.reload()
            siteFile.forgetPrevious()
            await StaticFiles(root: settings.staticRoot).removeProject(project)
            context.logger.info("site removed", metadata: ["project": "\(project)", "removed": "\(removed)"])
            return RemoveProxyConfTask.Output(removed: removed, site: siteFile.path).json
        } catch {
            throw error.taskFailure
        }
    }
}
