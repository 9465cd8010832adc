import DZJSON
import DZSystem

/// A project as the coordinator publishes it in the spool, `state/projects/<project>.json`, rewritten when one
/// of its jobs records something (a bundle, an instance, a release) or ends, and when its environment changes:
/// what `dz releases`, `dz config show`, `dz bundles list`, `dz hostnames` and `dz project config` show on any
/// host. The environment's names only: every value is published as `***` (a value whose name does not look secret
/// may still be one, a `DATABASE_URL` with its password), so that no file of the spool holds a config value; `dz
/// config show` reads the values from the zoomdb, read-only, where it is on the host.
public struct ProjectDocument: Sendable, Equatable {
    /// The directory of project documents under the published state.
    public static let directory = "projects"
    /// How many of the newest releases a document lists.
    public static let releaseLimit = 1000
    /// What a masked value reads as.
    public static let mask = "***"

    public var project: String
    public var sourceURL: String?
    public var configVersion: Int
    /// The environment's names, each to `mask`.
    public var environment: [String: String]
    public var hostnames: [String]
    public var instances: Int?
    public var workers: Int?
    /// Newest first.
    public var releases: [ReleaseRecord]
    /// Oldest first, deleted ones included.
    public var bundles: [BundleRecord]
    /// The instances that run, oldest first.
    public var active: [DeploymentRecord]
    public var guesses: [StoredGuess]
    public var published: Timestamp

    /// The newest succeeded release: what is live.
    public var currentRelease: ReleaseRecord? { releases.first { $0.succeeded } }

    /// The project as the zoomdb holds it now; nil when the zoomdb knows nothing of it.
    public init?(db: ZoomDB, project: String) throws {
        let record = try db.project(project)
        let releases = try db.releases(of: project, limit: Self.releaseLimit)
        let bundles = try db.bundles(of: project)
        let active = try db.activeDeployments(of: project)
        guard record != nil || !releases.isEmpty || !bundles.isEmpty || !active.isEmpty else { return nil }
        self.project = project
        sourceURL = record?.sourceURL
        configVersion = try db.configVersion(of: project)
        environment = try db.environment(of: project).mapValues { _ in Self.mask }
        hostnames = try db.hostnames(of: project)
        (instances, workers) = try db.formation(of: project)
        self.releases = releases
        self.bundles = bundles
        self.active = active
        guesses = try db.guesses(of: project)
        published = .now()
    }

    /// The file name of `project`'s document in `directory`.
    public static func fileName(_ project: String) -> String { project + ".json" }

    public var jsonObject: [String: JSONValue] {
        var object: [String: JSONValue] = [
            "project": .string(project), "source_url": sourceURL.map(JSONValue.string) ?? .null,
            "config_version": .int(Int64(configVersion)),
            "live_config_version": currentRelease.map { .int(Int64($0.configVersion)) } ?? .null,
            "environment": .object(environment.mapValues { .string($0) }),
            "hostnames": .array(hostnames.map { .string($0) }),
            "instances": instances.map { .int(Int64($0)) } ?? .null, "workers": workers.map { .int(Int64($0)) } ?? .null,
            "current_release": currentRelease.map { .int(Int64($0.number)) } ?? .null,
            "releases": .array(releases.map { .object($0.jsonObject) }),
            "bundles": .array(bundles.map { .object($0.jsonObject) }),
            "active": .array(active.map { .object($0.jsonObject) }),
            "guesses": .array(guesses.map { guess in
                .object(["field": .string(guess.field), "value": .string(guess.value),
                         "is_primary": .bool(guess.isPrimary), "basis": .string(guess.basis)])
            }),
        ]
        object["published"] = .string(published.rfc3339)
        return object
    }

    /// Reads a document back.
    public init(json value: JSONValue) throws(PublishedStateError) {
        guard case .object(let object) = value, let project = object["project"]?.stringValue else {
            throw PublishedStateError("a project document", "not an object with a project")
        }
        self.project = project
        sourceURL = object["source_url"]?.stringValue
        configVersion = Int(object["config_version"]?.intValue ?? 0)
        // Names only, whatever a document says.
        environment = (object["environment"]?.objectValue ?? [:]).mapValues { _ in Self.mask }
        hostnames = (object["hostnames"]?.arrayValue ?? []).compactMap(\.stringValue)
        instances = object["instances"]?.intValue.map(Int.init)
        workers = object["workers"]?.intValue.map(Int.init)
        releases = (object["releases"]?.arrayValue ?? []).compactMap {
            $0.objectValue.flatMap { ReleaseRecord(project: project, json: $0) }
        }
        bundles = (object["bundles"]?.arrayValue ?? []).compactMap { $0.objectValue.flatMap(BundleRecord.init(json:)) }
        active = (object["active"]?.arrayValue ?? []).compactMap { $0.objectValue.flatMap(DeploymentRecord.init(json:)) }
        guesses = (object["guesses"]?.arrayValue ?? []).compactMap(\.objectValue).map { guess in
            StoredGuess(field: guess["field"]?.stringValue ?? "", value: guess["value"]?.stringValue ?? "",
                        isPrimary: guess["is_primary"] == .bool(true), basis: guess["basis"]?.stringValue ?? "")
        }
        published = object["published"]?.stringValue.flatMap { Timestamp(rfc3339: $0) } ?? Timestamp(nanoseconds: 0)
    }
}
