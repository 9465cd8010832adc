import DZAgent
import DZSpool
import DZSystem

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
        let project = try context.project()
        let source = try context.source(allowLocal: allowLocalSources)
        let config: ZoombuildConfig
        do { config = try ZoombuildConfig.parse(try context.string("zoombuild_cfg")) } catch let error as ZoombuildConfigError {
            throw TaskFailure.badArgs("zoombuild.cfg: \(error)")
        }
        var request = BundleBuilder.Request(project: project, source: source, revision: try context.optionalString("rev"),
                                            config: config)
        request.vcs = try context.vcs()
        if let policy = try context.optionalString("collectstatic") {
            guard let parsed = BundleBuilder.StaticFailurePolicy(rawValue: policy) else {
                throw TaskFailure.badArgs("collectstatic must be error or warn")
            }
            request.staticFailure = parsed
        }
        if let python = try context.optionalString("python") {
            guard PythonRequirement(python) != nil else { throw TaskFailure.badArgs("python must be a version such as 3.12") }
            request.python = python
        }
        if let engine = try context.optionalString("db_engine") {
            guard let known = AppDatabase.Engine(rawValue: engine) else {
                throw TaskFailure.badArgs("db_engine must be postgresql or sqlite")
            }
            request.databaseEngine = known
        }
        let built: BundleBuilder.Built
        do { built = try await builder.build(request, logger: context.logger) } catch {
            throw TaskFailure(kind: error.kind, message: error.message, retryable: error.retryable)
        }
        return [
            "bundle": .string(built.name),
            "archive": .string(built.archivePath),
            "sha256": .string(built.manifest.archiveSHA256 ?? ""),
            "size": .int(built.manifest.archiveSize ?? 0),
            "revision": .string(built.revision.commit),
            "subject": .string(built.revision.subject),
            "python_version": .string(built.manifest.pythonVersion ?? ""),
            "django_version": .string(built.manifest.djangoVersion ?? ""),
            "virtualenv_reused": .bool(built.reusedVirtualenv),
            "build_directory": .string(built.buildDirectory),
            "timings": .object(Dictionary(built.timings.map { ($0.0, JSONValue.double(($0.1 * 1000).rounded() / 1000)) },
                                          uniquingKeysWith: { first, _ in first })),
            "warnings": .array(built.warnings.map { .string($0) }),
            "wsgi": .string(built.wsgi),
            // The media URL rides in `static` (`"media": true`, no path) so that every release record keeps it and a
            // rollback serves it too; the planner hands it to proxy_update as `media_url`.
            "static": .array(built.staticMap.map { .object(["url": .string($0.url), "path": .string($0.path)]) }
                + (built.mediaURL.map { [.object(["url": .string($0), "media": .bool(true)])] } ?? [])),
            "media_url": built.mediaURL.map { .string($0) } ?? .null,
            "num_workers": config.numWorkers.map { .int(Int64($0)) } ?? .null,
            "hostnames": .array(config.hostnames.map { .string($0) }),
            "database_engine": request.effectiveDatabaseEngine.map { .string($0.rawValue) } ?? .null,
            "postgis": .bool(config.databaseType?.requiresPostGIS == true),
        ]
    }
}
