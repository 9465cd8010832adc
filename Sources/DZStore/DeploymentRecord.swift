import DZJSON
import DZSystem

/// One running instance of an app on an appserver, as the deploy step reported it: which bundle, where it
/// listens, which job made it, and when it was stopped (`deactivated`).
public struct DeploymentRecord: Sendable, Equatable {
    public var project: String
    public var bundle: String
    public var appserver: String
    /// The instance id the appserver knows it by (`stop_instances` takes these).
    public var instance: String
    /// The address and port the proxy reaches the instance at.
    public var host: String?
    public var port: Int?
    /// The unix user the app runs as.
    public var user: String?
    public var job: String?
    public var created: Timestamp
    public var deactivated: Timestamp?

    public init(project: String, bundle: String, appserver: String, instance: String, host: String?, port: Int?,
                user: String? = nil, job: String? = nil, created: Timestamp = .now(), deactivated: Timestamp? = nil)
    {
        self.project = project
        self.bundle = bundle
        self.appserver = appserver
        self.instance = instance
        self.host = host
        self.port = port
        self.user = user
        self.job = job
        self.created = created
        self.deactivated = deactivated
    }

    init(row: SQLiteRow) {
        project = row.string("project") ?? ""
        bundle = row.string("bundle") ?? ""
        appserver = row.string("appserver") ?? ""
        instance = row.string("instance") ?? ""
        host = row.string("host")
        port = row.int("port").map(Int.init)
        user = row.string("user")
        job = row.string("job")
        created = row.string("created").flatMap { Timestamp(rfc3339: $0) } ?? Timestamp(nanoseconds: 0)
        deactivated = row.string("deactivated").flatMap { Timestamp(rfc3339: $0) }
    }

    /// The form job steps see (`JobContext.facts`).
    public var jsonObject: [String: JSONValue] {
        var object: [String: JSONValue] = [
            "project": .string(project), "bundle": .string(bundle), "appserver": .string(appserver),
            "instance": .string(instance), "created": .string(created.rfc3339),
        ]
        if let host { object["address"] = .string(host) }
        if let port { object["port"] = .int(Int64(port)) }
        if let user { object["user"] = .string(user) }
        if let job { object["job"] = .string(job) }
        return object
    }
}

extension DeploymentRecord {
    /// An instance read back from `jsonObject`; nil without its project, bundle, appserver and instance.
    public init?(json object: [String: JSONValue]) {
        guard let project = object["project"]?.stringValue, let bundle = object["bundle"]?.stringValue,
              let appserver = object["appserver"]?.stringValue, let instance = object["instance"]?.stringValue
        else { return nil }
        self.init(project: project, bundle: bundle, appserver: appserver, instance: instance,
                  host: object["address"]?.stringValue, port: object["port"]?.intValue.map(Int.init),
                  user: object["user"]?.stringValue, job: object["job"]?.stringValue,
                  created: object["created"]?.stringValue.flatMap { Timestamp(rfc3339: $0) } ?? Timestamp(nanoseconds: 0))
    }
}
