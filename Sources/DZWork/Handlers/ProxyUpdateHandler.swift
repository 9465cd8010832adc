import DZAgent
import DZBuild
import DZBundle
import DZDeploy
import DZSpool
import DZSystem
import DZTasks
import Logging

/// `proxy_update` (queue `proxy`): points this host's nginx at a project's app servers and serves the bundle's
/// static files itself.
///
/// Arguments (see `ProxyUpdateRequest`): `project`, `bundle`, optional `sha256`, `hostnames`, `upstreams`
/// (`[{"address": "127.0.0.1", "port": 10001}]`), `static` (`[{"url": "/static/", "path": "static"}]`, may be
/// empty), optional `client_max_body_size` (default `20m`) and `media_url` (served from the app's media directory
/// when this host has it: the appserver is this host, or the hosts share the media root at the same path).
///
/// Steps: the bundle's static directories (`StaticFiles`): here already (`static_source` `here`), staged ahead by
/// `stage_static` (`staged`), else fetched now, keeping only them (`fetched`); then, holding `SitesLock`, the
/// static directories renamed into place (a staged or fetched tree appears there whole), the site written as
/// `<sites>/dz_<project>.conf` (`SiteFile`: atomic, the replaced file kept) and `nginx -t` run. A refused
/// configuration puts the previous file back (or removes the new one), removes the static directories it put in
/// place (a retry fetches them again) and fails with kind `nginx-config`, not retryable, carrying nginx's message.
/// Otherwise `nginx -s reload` (kind `nginx-reload`, retryable, when it fails) and the static files of older
/// bundles are removed, all but the previous one, with every staged directory of the project.
///
/// The site serves `/.well-known/acme-challenge/` from the ACME webroot; names with a certificate installed
/// (`install_cert`, `obtain_cert`) get a TLS server on the TLS port and their HTTP is redirected. The arguments are
/// kept beside the site (`SiteFile`), so that a certificate installed later renders the same site with TLS.
///
/// Output: `site` (the file), `bundle`, `hostnames`, `upstreams`, `urls` (`http://<name>[:<port>]/` for each name
/// that is not a wildcard), `static` (each `url`, `path` and the `directory` served), `removed_static` (bundles
/// whose static files were removed), `media` (`url` and `directory` when MEDIA_URL is served from the app's media
/// directory on this host, else null), `static_source` (`none`, `here`, `staged` or `fetched`).
public struct ProxyUpdateHandler: TaskHandler {
    public let name = "proxy_update"
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
        let request = try ProxyUpdateRequest(arguments: context.args)
        do throws(ProxyError) {
            return try await update(request, logger: context.logger)
        } catch {
            throw error.taskFailure
        }
    }

    private func update(_ request: ProxyUpdateRequest, logger: Logger) async throws(ProxyError) -> [String: JSONValue] {
        try settings.validate()
        let files = StaticFiles(root: settings.staticRoot)
        let source: ProxyUpdateTask.StaticSource
        let staged: StaticFiles.Staged?
        if request.staticMappings.isEmpty {
            (source, staged) = (.none, nil)
        } else if files.isComplete(project: request.project, bundle: request.bundle, mappings: request.staticMappings) {
            (source, staged) = (.here, nil)
        } else if let ahead = files.staged(project: request.project, bundle: request.bundle,
                                           mappings: request.staticMappings) {
            (source, staged) = (.staged, ahead)
        } else {
            // Not staged ahead (a proxy_update sent by hand, a release step of an older coordinator, a proxy host
            // that lost them): fetched now, as before there was stage_static.
            (source, staged) = (.fetched, try await files.stage(
                project: request.project, bundle: request.bundle, sha256: request.sha256,
                mappings: request.staticMappings, from: store, logger: logger))
        }
        defer { staged?.discard() }

        let lock = try await SitesLock.acquire(directory: settings.sitesDirectory, timeout: lockTimeout)
        defer { lock.unlock() }
        // Rendered under the lock: the certificates it names are the ones installed now.
        let site = try request.site(settings: settings)
        let text = site.render()
        try StaticFiles.step("mkdir", settings.logsDirectory) { () throws(Errno) in
            try FileSystem.makeDirectories(settings.logsDirectory, mode: 0o755)
        }
        let installed = try staged.map { (staged) throws(ProxyError) in
            try files.install(staged, project: request.project, bundle: request.bundle)
        }
        let siteFile = SiteFile(directory: settings.sitesDirectory, project: request.project)
        let hadPrevious = try siteFile.replace(with: text)
        let nginx = NginxController(settings: settings)
        do {
            try await nginx.test()
        } catch {
            logger.warning("nginx refused the new site: putting the previous one back",
                           metadata: ["site": "\(siteFile.path)", "error": "\(error)"])
            try siteFile.restore(hadPrevious: hadPrevious)
            if installed == .new { await files.remove(project: request.project, bundle: request.bundle) }
            throw error
        }
        do {
            if !(try await nginx.reload()) {
                logger.warning("nginx reloaded, but workers of the previous configuration still took connections at the end of the wait",
                               metadata: ["site": "\(siteFile.path)"])
            }
        } catch {
            // nginx still serves the previous configuration: the file on disk must say so too, or the next reload
            // (any other app's) would switch to instances this job's compensation is about to stop.
            logger.warning("nginx did not reload: putting the previous site back",
                           metadata: ["site": "\(siteFile.path)", "error": "\(error)"])
            try siteFile.restore(hadPrevious: hadPrevious)
            if installed == .new { await files.remove(project: request.project, bundle: request.bundle) }
            throw error
        }
        do throws(ProxyError) {
            try siteFile.keepArguments(request.arguments)
        } catch {
            logger.warning("the site's arguments could not be kept: a certificate installed later waits for the next proxy_update",
                           metadata: ["site": "\(siteFile.path)", "error": "\(error)"])
        }
        if let url = request.mediaURL, site.media == nil {
            logger.warning("MEDIA_URL is passed to the app: the app's media directory is not on this host",
                           metadata: ["media_url": "\(url)", "media_root": "\(settings.mediaRoot ?? "none")"])
        }
        logger.info("site updated", metadata: ["site": "\(siteFile.path)", "bundle": "\(request.bundle)",
                                               "upstreams": "\(request.upstreams.map(\.endpoint))"])
        files.markDeployed(project: request.project, bundle: request.bundle)
        let removed = await files.prune(project: request.project, keeping: request.bundle)
        return ProxyUpdateTask.Output(
            site: siteFile.path, bundle: request.bundle, hostnames: request.hostnames.map(\.rawValue),
            upstreams: request.upstreams.map { ProxyUpdateTask.Upstream(address: $0.address, port: $0.port) },
            urls: site.urls,
            staticFiles: request.staticMappings.map { mapping in
                ["url": .string(mapping.url), "path": .string(mapping.path),
                 "directory": .string(site.staticDirectory + "/" + mapping.path)]
            },
            removedStatic: removed,
            media: site.media.map { ["url": .string($0.url), "directory": .string($0.directory)] },
            staticSource: source).json
    }
}
