import DZAgent
import DZBuild
import DZBundle
import DZDeploy
import DZSpool
import DZTasks
import Logging

/// `stage_static` (queue `proxy`): puts a release's static files on this proxy host ahead of its switch, so that
/// `proxy_update` only writes the site, checks it and reloads nginx. The release steps send it as soon as the
/// bundle is stored, beside placement and the deploys.
///
/// Arguments (see `StageStaticRequest`): `project`, `bundle`, optional `sha256`, `static` (the release's
/// `{"url", "path"}` mappings, may be empty).
///
/// Nothing to do when the release maps no static files (`state` `none`) or the bundle's own directory has every
/// mapped path already (`here`: the live bundle, or the one before it, as a rollback or a config change finds
/// them), or a complete staged directory of the bundle is here (`staged`, `fetched` false). Otherwise it fetches
/// the bundle and keeps its static directories as `proxy_update` does (`StaticFiles.stage`: checked against the
/// SHA-256, only the mapped paths extracted, readable by nginx's workers) and, holding `SitesLock`, renames them
/// to `<static>/<project>/.staged-<bundle>` (`staged`, `fetched` true), a name no site serves from: a half-staged
/// tree is never seen there, nor served anywhere.
///
/// Output: `bundle`, `state`, `directory` (where the files are; null with `none`), `fetched`.
public struct StageStaticHandler: TaskHandler {
    public let name = "stage_static"
    public let workspace: Workspace
    public let store: any BundleStore
    public let settings: ProxySettings
    /// Seconds to wait for another proxy change on this host before failing (retryably, kind `busy`).
    public var lockTimeout: Double = 600

    public init(workspace: Workspace, store: any BundleStore, settings: ProxySettings) {
        self.workspace = workspace
        self.store = store
        self.settings = settings
    }

    public func run(_ context: TaskContext) async throws -> [String: JSONValue] {
        let request = try StageStaticRequest(arguments: context.args)
        do throws(ProxyError) {
            return try await stage(request, logger: context.logger).json
        } catch {
            throw error.taskFailure
        }
    }

    private func stage(_ request: StageStaticRequest, logger: Logger) async throws(ProxyError)
        -> StageStaticTask.Output
    {
        try settings.validate()
        let (project, bundle, mappings) = (request.project, request.bundle, request.staticMappings)
        let files = StaticFiles(root: settings.staticRoot)
        guard !mappings.isEmpty else { return StageStaticTask.Output(bundle: bundle, state: .none, directory: nil,
                                                                     fetched: false) }
        if files.isComplete(project: project, bundle: bundle, mappings: mappings) {
            return StageStaticTask.Output(
                bundle: bundle, state: .here,
                directory: StaticFiles.directory(root: settings.staticRoot, project: project, bundle: bundle),
                fetched: false)
        }
        let directory = StaticFiles.stagedDirectory(root: settings.staticRoot, project: project, bundle: bundle)
        if files.staged(project: project, bundle: bundle, mappings: mappings) != nil {
            return StageStaticTask.Output(bundle: bundle, state: .staged, directory: directory, fetched: false)
        }
        let fetched = try await files.stage(project: project, bundle: bundle, sha256: request.sha256,
                                            mappings: mappings, from: store, logger: logger)
        defer { fetched.discard() }
        let lock = try await SitesLock.acquire(directory: settings.sitesDirectory, timeout: lockTimeout)
        defer { lock.unlock() }
        try files.publish(fetched, project: project, bundle: bundle)
        logger.info("static files staged", metadata: ["bundle": "\(bundle)", "directory": "\(directory)"])
        return StageStaticTask.Output(bundle: bundle, state: .staged, directory: directory, fetched: true)
    }
}
