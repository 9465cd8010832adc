import DZJSON
import DZSpool

/// `build_bundle` (queue `build`): build a bundle of a project's revision, the project's code only in the build
/// sandbox. Planned by `BuildJob`, run by `BuildBundleHandler`.
public enum BuildBundleTask: TaskContract {
    public static let name = "build_bundle"

    public struct Arguments: TaskMessage, Equatable {
        public var project: ProjectID
        /// The repository's URL (checked by the handler: which schemes, local paths only where allowed).
        public var source: String
        /// The text of the project's zoombuild.cfg.
        public var zoombuildConfig: String
        /// The commit check_repo reported; nil: the remote's HEAD.
        public var rev: String?
        /// `git` (nil) or `hg`.
        public var vcs: String?
        /// `error` (nil) or `warn`: what a failed collectstatic does.
        public var collectstatic: String?
        /// The Python minor version check_placement chose, over the config's `python_version`.
        public var python: String?
        /// `postgresql` or `sqlite`: the driver the bundle gets; nil: the config's `database_type`.
        public var databaseEngine: String?

        public init(project: ProjectID, source: String, zoombuildConfig: String) {
            self.project = project
            self.source = source
            self.zoombuildConfig = zoombuildConfig
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            project = try read.project()
            source = try read.string("source")
            zoombuildConfig = try read.string("zoombuild_cfg")
            rev = try read.optionalString("rev")
            vcs = try read.optionalString("vcs")
            collectstatic = try read.optionalString("collectstatic")
            python = try read.optionalString("python")
            databaseEngine = try read.optionalString("db_engine")
        }

        public var json: [String: JSONValue] {
            var object: [String: JSONValue] = [
                "project": .string(project.rawValue), "source": .string(source),
                "zoombuild_cfg": .string(zoombuildConfig),
            ]
            if let rev { object["rev"] = .string(rev) }
            if let vcs { object["vcs"] = .string(vcs) }
            if let collectstatic { object["collectstatic"] = .string(collectstatic) }
            if let python { object["python"] = .string(python) }
            if let databaseEngine { object["db_engine"] = .string(databaseEngine) }
            return object
        }

        public static let keys = ["project", "source", "zoombuild_cfg", "rev", "vcs", "collectstatic", "python",
                                  "db_engine"]
    }

    /// A URL prefix the proxy serves: from the bundle's `path`, or, for `MEDIA_URL` (`media`), from the app's
    /// media directory. Release records keep both, so that a rollback serves its media URL too.
    public struct StaticEntry: Sendable, Equatable {
        public var url: String
        public var path: String?
        public var media: Bool

        public init(url: String, path: String?, media: Bool = false) {
            self.url = url
            self.path = path
            self.media = media
        }

        public var json: [String: JSONValue] {
            media ? ["url": .string(url), "media": .bool(true)] : ["url": .string(url), "path": .string(path ?? "")]
        }
    }

    /// The bundle built and what deploying it needs. Only `bundle` is required of a result: the rest is read as
    /// far as a handler gave it.
    public struct Output: TaskMessage, Equatable {
        public var bundle: String
        /// The archive's path on the build host.
        public var archive: String?
        public var sha256: String?
        public var size: Int64?
        /// The commit built, and its subject line.
        public var revision: String?
        public var subject: String?
        public var pythonVersion: String?
        public var djangoVersion: String?
        public var virtualenvReused: Bool?
        public var buildDirectory: String?
        /// Seconds per stage of the build.
        public var timings: [String: Double]
        public var warnings: [String]
        /// The WSGI application gunicorn serves.
        public var wsgi: String?
        public var staticFiles: [StaticEntry]
        public var mediaURL: String?
        /// The config's `num_workers` and `hostnames`.
        public var numWorkers: Int?
        public var hostnames: [String]
        /// The engine the bundle has the driver of, and whether it needs PostGIS.
        public var databaseEngine: String?
        public var postgis: Bool

        public init(bundle: String) {
            self.bundle = bundle
            timings = [:]
            warnings = []
            staticFiles = []
            hostnames = []
            postgis = false
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            bundle = try read.string("bundle")
            archive = try read.optionalString("archive")
            sha256 = try read.optionalString("sha256")
            size = read.value("size")?.intValue
            revision = try read.optionalString("revision")
            subject = try read.optionalString("subject")
            pythonVersion = try read.optionalString("python_version")
            djangoVersion = try read.optionalString("django_version")
            virtualenvReused = try read.bool("virtualenv_reused")
            buildDirectory = try read.optionalString("build_directory")
            timings = (try read.object("timings") ?? [:]).compactMapValues(\.doubleValue)
            warnings = (try read.array("warnings") ?? []).compactMap(\.stringValue)
            wsgi = try read.optionalString("wsgi")
            staticFiles = try (read.array("static") ?? []).map { item throws(ContractViolation) in
                guard let fields = item.objectValue, let url = fields["url"]?.stringValue else {
                    throw ContractViolation("static must be {\"url\", \"path\"} objects")
                }
                return StaticEntry(url: url, path: fields["path"]?.stringValue, media: fields["media"] == .bool(true))
            }
            mediaURL = try read.optionalString("media_url")
            numWorkers = read.value("num_workers")?.intValue.flatMap { Int(exactly: $0) }
            hostnames = (try read.array("hostnames") ?? []).compactMap(\.stringValue)
            databaseEngine = try read.optionalString("database_engine")
            postgis = try read.bool("postgis") ?? false
        }

        public var json: [String: JSONValue] {
            func text(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }
            return [
                "bundle": .string(bundle), "archive": text(archive), "sha256": text(sha256),
                "size": size.map { .int($0) } ?? .null, "revision": text(revision), "subject": text(subject),
                "python_version": text(pythonVersion), "django_version": text(djangoVersion),
                "virtualenv_reused": virtualenvReused.map { .bool($0) } ?? .null,
                "build_directory": text(buildDirectory), "timings": .object(timings.mapValues { .double($0) }),
                "warnings": .array(warnings.map { .string($0) }), "wsgi": text(wsgi),
                "static": .array(staticFiles.map { .object($0.json) }), "media_url": text(mediaURL),
                "num_workers": numWorkers.map { .int(Int64($0)) } ?? .null,
                "hostnames": .array(hostnames.map { .string($0) }), "database_engine": text(databaseEngine),
                "postgis": .bool(postgis),
            ]
        }

        public static let keys = ["bundle", "archive", "sha256", "size", "revision", "subject", "python_version",
                                  "django_version", "virtualenv_reused", "build_directory", "timings", "warnings",
                                  "wsgi", "static", "media_url", "num_workers", "hostnames", "database_engine",
                                  "postgis"]
    }
}
