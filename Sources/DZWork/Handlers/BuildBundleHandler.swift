import DZAgent
import DZBuild
import DZDeploy
import DZSource
import DZSpool
import DZSystem
import DZTasks

/// `build_bundle` (queue `build`): builds a bundle of a project's revision (see `BundleBuilder`: the project's
/// code runs only in the build sandbox, never as root, and `limits` cap what it may write). Arguments:
/// `project`, `source` (URL), `rev` (the commit check_repo or checkout reported; default the remote's HEAD),
/// `zoombuild_cfg` (the file's text), optional `collectstatic` (`error`, the default, or `warn`) and `python` (the
/// minor version check_placement chose, over the config's `python_version`).
/// Output: the bundle's name, archive path, SHA-256 and size, the revision, Python and Django versions, whether
/// the virtualenv was reused, the time of each stage, warnings; and what deploying it needs: `wsgi` (the
/// application gunicorn serves), `static` (`[{url, path}]` the proxy serves from the bundle, and
/// `{url, "media": true}` for `MEDIA_URL`, served from the app's media directory), `media_url`, and the config's
/// `num_workers` and `hostnames`, `database_engine` (the `db_engine` argument, else the config's
/// `database_type`; the bundle has the matching driver) and `postgis`.
public struct BuildBundleHandler: TaskHandler {
    public let name = "build_bundle"
    public let builder: BundleBuilder
    public let allowLocalSources: Bool

    public init(workspace: Workspace, allowLocalSources: Bool = false, limits: BuildLimits = BuildLimits(),
                pythons: AllowedPythons = .systemDefaults())
    {
        builder = BundleBuilder(workspace: workspace, limits: limits, pythons: pythons)
        self.allowLocalSources = allowLocalSources
    }

    public func run(_ context: TaskContext) async throws -> [String: JSONValue] {
        let args = try context.arguments(of: BuildBundleTask.self)
        let project = args.project
        let source = try SourceURL.argument(args.source, allowLocal: allowLocalSources)
        let config: ZoombuildConfig
        do throws(ZoombuildConfigError) { config = try ZoombuildConfig.parse(args.zoombuildConfig) } catch {
            throw TaskFailure.badArgs("zoombuild.cfg: \(error)")
        }
        var request = BundleBuilder.Request(project: project, source: source, revision: args.rev, config: config)
        request.vcs = try SourceCheckout.VCS.argument(args.vcs)
        if let policy = args.collectstatic {
            guard let parsed = BundleBuilder.StaticFailurePolicy(rawValue: policy) else {
                throw TaskFailure.badArgs("collectstatic must be error or warn")
            }
            request.staticFailure = parsed
        }
        if let python = args.python {
            guard PythonRequirement(python) != nil else { throw TaskFailure.badArgs("python must be a version such as 3.12") }
            request.python = python
        }
        if let engine = args.databaseEngine {
            guard let known = AppDatabase.Engine(rawValue: engine) else {
                throw TaskFailure.badArgs("db_engine must be postgresql or sqlite")
            }
            request.databaseEngine = known
        }
        let built: BundleBuilder.Built
        do { built = try await builder.build(request, logger: context.logger) } catch {
            throw TaskFailure(kind: error.kind, message: error.message, retryable: error.retryable)
        }
        var output = BuildBundleTask.Output(bundle: built.name)
        output.archive = built.archivePath
        output.sha256 = built.manifest.archiveSHA256 ?? ""
        output.size = built.manifest.archiveSize ?? 0
        output.revision = built.revision.commit
        output.subject = built.revision.subject
        output.pythonVersion = built.manifest.pythonVersion ?? ""
        output.djangoVersion = built.manifest.djangoVersion ?? ""
        output.virtualenvReused = built.reusedVirtualenv
        output.buildDirectory = built.buildDirectory
        output.timings = Dictionary(built.timings.map { ($0.0, ($0.1 * 1000).rounded() / 1000) },
                                    uniquingKeysWith: { first, _ in first })
        output.warnings = built.warnings
        output.wsgi = built.wsgi
        // The media URL rides in `static` (`"media": true`, no path) so that every release record keeps it and a
        // rollback serves it too; the planner hands it to proxy_update as `media_url`.
        output.staticFiles = built.staticMap.map { BuildBundleTask.StaticEntry(url: $0.url, path: $0.path) }
            + (built.mediaURL.map { [BuildBundleTask.StaticEntry(url: $0, path: nil, media: true)] } ?? [])
        output.mediaURL = built.mediaURL
        output.numWorkers = config.numWorkers
        output.hostnames = config.hostnames
        output.databaseEngine = request.effectiveDatabaseEngine?.rawValue
        output.postgis = config.databaseType?.requiresPostGIS == true
        return output.json
    }
}
