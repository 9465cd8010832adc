import DZJSON
import DZSystem

/// One release of an app: what a deploying job (build_and_deploy, rollback, config, hostnames) put live or tried
/// to, numbered per project from 1. A succeeded release holds everything a later job needs to deploy its bundle
/// again without building: the bundle and its checksum, the WSGI application, the static directories, the host
/// names and the environment's version.
public struct ReleaseRecord: Sendable, Equatable {
    public var project: String
    public var number: Int
    /// The job kind that made it (`build_and_deploy`, `rollback`, `config`, `hostnames`).
    public var kind: String
    /// What changed, in words (`rollback to release 3`, `set HELLO_GREETING`).
    public var description: String?
    public var bundle: String
    public var sha256: String?
    public var revision: String?
    public var wsgi: String
    /// The bundle's static mapping, as build_bundle reported it.
    public var staticFiles: JSONValue
    public var hostnames: [String]
    public var configVersion: Int
    public var instances: Int?
    public var workers: Int?
    /// nginx's request body limit for the site, when the job gave one.
    public var clientMaxBodySize: String?
    /// The job's final state: `succeeded`, `failed` or `cancelled`.
    public var result: String
    public var job: String?
    public var issuedBy: String?
    public var created: Timestamp

    public init(project: String, number: Int = 0, kind: String, description: String? = nil, bundle: String,
                sha256: String? = nil, revision: String? = nil, wsgi: String, staticFiles: JSONValue = .array([]),
                hostnames: [String], configVersion: Int, instances: Int? = nil, workers: Int? = nil,
                clientMaxBodySize: String? = nil, result: String, job: String? = nil, issuedBy: String? = nil, created: Timestamp = .now())
    {
        self.project = project
        self.number = number
        self.kind = kind
        self.description = description
        self.bundle = bundle
        self.sha256 = sha256
        self.revision = revision
        self.wsgi = wsgi
        self.staticFiles = staticFiles
        self.hostnames = hostnames
        self.configVersion = configVersion
        self.instances = instances
        self.workers = workers
        self.clientMaxBodySize = clientMaxBodySize
        self.result = result
        self.job = job
        self.issuedBy = issuedBy
        self.created = created
    }

    init(row: SQLiteRow) {
        project = row.string("project") ?? ""
        number = Int(row.int("number") ?? 0)
        kind = row.string("kind") ?? ""
        description = row.string("description")
        bundle = row.string("bundle") ?? ""
        sha256 = row.string("sha256")
        revision = row.string("revision")
        wsgi = row.string("wsgi") ?? ""
        staticFiles = row.string("static").flatMap { try? JSONValue.parse(Array($0.utf8)) } ?? .array([])
        hostnames = (row.string("hostnames").flatMap { try? JSONValue.parse(Array($0.utf8)) }?.arrayValue ?? [])
            .compactMap(\.stringValue)
        configVersion = Int(row.int("config_version") ?? 0)
        instances = row.int("instances").map(Int.init)
        workers = row.int("workers").map(Int.init)
        clientMaxBodySize = row.string("client_max_body_size")
        result = row.string("result") ?? ""
        job = row.string("job")
        issuedBy = row.string("issued_by")
        created = row.string("created").flatMap { Timestamp(rfc3339: $0) } ?? Timestamp(nanoseconds: 0)
    }

    public var succeeded: Bool { result == "succeeded" }

    /// The form job steps see (`JobContext.facts`).
    public var jsonObject: [String: JSONValue] {
        var object: [String: JSONValue] = [
            "number": .int(Int64(number)), "kind": .string(kind), "bundle": .string(bundle), "wsgi": .string(wsgi),
            "static": staticFiles, "hostnames": .array(hostnames.map { .string($0) }),
            "config_version": .int(Int64(configVersion)), "result": .string(result),
            "created": .string(created.rfc3339),
        ]
        if let sha256 { object["sha256"] = .string(sha256) }
        if let revision { object["revision"] = .string(revision) }
        if let description { object["description"] = .string(description) }
        if let instances { object["instances"] = .int(Int64(instances)) }
        if let workers { object["workers"] = .int(Int64(workers)) }
        if let clientMaxBodySize { object["client_max_body_size"] = .string(clientMaxBodySize) }
        if let job { object["job"] = .string(job) }
        if let issuedBy { object["issued_by"] = .string(issuedBy) }
        return object
    }

    /// A release read back from `jsonObject` (as the facts carry it).
    public init?(project: String, json object: [String: JSONValue]) {
        guard let bundle = object["bundle"]?.stringValue, let wsgi = object["wsgi"]?.stringValue else { return nil }
        self.init(project: project, number: Int(object["number"]?.intValue ?? 0),
                  kind: object["kind"]?.stringValue ?? "", description: object["description"]?.stringValue,
                  bundle: bundle, sha256: object["sha256"]?.stringValue, revision: object["revision"]?.stringValue,
                  wsgi: wsgi, staticFiles: object["static"] ?? .array([]),
                  hostnames: (object["hostnames"]?.arrayValue ?? []).compactMap(\.stringValue),
                  configVersion: Int(object["config_version"]?.intValue ?? 0),
                  instances: object["instances"]?.intValue.map(Int.init),
                  workers: object["workers"]?.intValue.map(Int.init),
                  clientMaxBodySize: object["client_max_body_size"]?.stringValue, result: object["result"]?.stringValue ?? "",
                  job: object["job"]?.stringValue, issuedBy: object["issued_by"]?.stringValue,
                  created: object["created"]?.stringValue.flatMap { Timestamp(rfc3339: $0) } ?? Timestamp(nanoseconds: 0))
    }
}
