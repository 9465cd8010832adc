import DZJSON
import DZSpool

/// `deploy` (queue `appserver_<id>`): start one instance of a bundle on this appserver. Planned by the deploying
/// job kinds (`ReleaseSteps.deploy`), run by `DeployHandler`.
public enum DeployTask: TaskContract {
    public static let name = "deploy"

    public struct Arguments: TaskMessage, Equatable {
        public var project: ProjectID
        /// A bundle of the project (its name is checked by the handler, which knows the naming rule).
        public var bundle: String
        /// The appserver id the task is for; the handler refuses a task that came through another's queue.
        public var appserver: String
        /// `module.path[:callable]`, as gunicorn takes it.
        public var wsgi: String
        public var hostnames: [Hostname]
        /// The archive's SHA-256; nil: the stored manifest's.
        public var sha256: String?
        /// The database as `create_database` returned it (password included); its shape is the handler's
        /// (`AppDatabase`).
        public var database: [String: JSONValue]?
        /// Gunicorn workers, 1 to 32.
        public var workers: Int
        /// More environment variables for the app (names checked by the handler).
        public var environment: [String: String]
        public var secretKey: String?
        public var healthPath: String?
        /// Seconds to wait for the instance to be up, 1 to 3600.
        public var healthTimeout: Double?
        /// What counts as up; nil: `healthy`.
        public var health: HealthRequirement?
        /// The app's unix user as the coordinator allocated it (required when the agent runs as root).
        public var appUser: AppUserAllocation?
        /// `memory`, `processes`, `cpu_weight` over the agent's defaults (checked by the handler, `AppLimits`).
        public var limits: [String: JSONValue]?

        public static let defaultWorkers = 2

        public init(project: ProjectID, bundle: String, appserver: String, wsgi: String, hostnames: [Hostname],
                    workers: Int = Arguments.defaultWorkers) {
            self.project = project
            self.bundle = bundle
            self.appserver = appserver
            self.wsgi = wsgi
            self.hostnames = hostnames
            self.workers = workers
            environment = [:]
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            project = try read.project()
            bundle = try read.string("bundle")
            appserver = try read.string("appserver")
            wsgi = try read.string("wsgi")
            hostnames = try read.hostnames()
            sha256 = try read.optionalString("sha256")
            database = try read.object("database")
            workers = try read.count("workers", in: 1...32) ?? Self.defaultWorkers
            environment = [:]
            for (key, value) in try read.object("environment") ?? [:] {
                guard case .string(let text) = value else {
                    throw ContractViolation("argument \"environment\" must be an object of strings: \(key) is a "
                        + value.typeName)
                }
                environment[key] = text
            }
            secretKey = try read.optionalString("secret_key")
            healthPath = try read.optionalString("health_path")
            healthTimeout = try read.number("health_timeout_s")
            if let healthTimeout, !(1...3600).contains(healthTimeout) {
                throw ContractViolation("health_timeout_s must be from 1 to 3600")
            }
            health = try read.optionalString("health").map { text throws(ContractViolation) in
                guard let requirement = HealthRequirement(rawValue: text) else {
                    throw ContractViolation("health must be healthy or live, not \"\(String(text.prefix(40)))\"")
                }
                return requirement
            }
            appUser = try read.object("app_user").map { object throws(ContractViolation) in
                try AppUserAllocation(json: object)
            }
            limits = try read.object("limits")
        }

        public var json: [String: JSONValue] {
            var object: [String: JSONValue] = [
                "project": .string(project.rawValue), "bundle": .string(bundle), "appserver": .string(appserver),
                "wsgi": .string(wsgi), "hostnames": .array(hostnames.map { .string($0.rawValue) }),
                "workers": .int(Int64(workers)),
            ]
            if let sha256 { object["sha256"] = .string(sha256) }
            if let database { object["database"] = .object(database) }
            if !environment.isEmpty { object["environment"] = .object(environment.mapValues { .string($0) }) }
            if let secretKey { object["secret_key"] = .string(secretKey) }
            if let healthPath { object["health_path"] = .string(healthPath) }
            if let healthTimeout { object["health_timeout_s"] = .double(healthTimeout) }
            if let health { object["health"] = .string(health.rawValue) }
            if let appUser { object["app_user"] = .object(appUser.json) }
            if let limits, !limits.isEmpty { object["limits"] = .object(limits) }
            return object
        }

        public static let keys = ["project", "bundle", "appserver", "wsgi", "hostnames", "sha256", "database",
                                  "workers", "environment", "secret_key", "health_path", "health_timeout_s",
                                  "health", "app_user", "limits"]
    }

    /// What counts as up: `healthy` (an answer below 500) or `live` (any HTTP answer: the app loads, though its
    /// pages may still need migrations).
    public enum HealthRequirement: String, Sendable, Equatable {
        case healthy
        case live
    }

    /// The instance started (or adopted from an earlier attempt).
    public struct Output: TaskMessage, Equatable {
        public var instance: String
        public var appserver: String
        public var address: String
        public var port: Int
        public var bundle: String
        public var project: String
        /// The unix user the instance runs as.
        public var user: String
        public var pid: Int
        public var workers: Int
        /// True when an earlier attempt's instance was taken instead of starting another.
        public var adopted: Bool
        /// The limits in force and what enforces them (`enforced_by`).
        public var limits: [String: JSONValue]?
        /// The app's media directory on this appserver.
        public var mediaRoot: String?
        /// Seconds per stage of this deploy (the user, the install's fetch and extraction, gunicorn's start, the
        /// first answer, ...): where its time went. Empty for an adopted instance.
        public var timings: [String: Double] = [:]

        public init(instance: String, appserver: String, address: String, port: Int, bundle: String,
                    project: String, user: String, pid: Int, workers: Int, adopted: Bool) {
            self.instance = instance
            self.appserver = appserver
            self.address = address
            self.port = port
            self.bundle = bundle
            self.project = project
            self.user = user
            self.pid = pid
            self.workers = workers
            self.adopted = adopted
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            instance = try read.string("instance")
            appserver = try read.string("appserver")
            address = try read.string("address")
            guard let port = try read.count("port", in: 1...65535) else { throw ContractViolation("missing \"port\"") }
            self.port = port
            bundle = try read.string("bundle")
            project = try read.string("project")
            user = try read.string("user")
            pid = try read.count("pid", in: 0...Int(Int32.max)) ?? 0
            workers = try read.count("workers", in: 1...32) ?? Arguments.defaultWorkers
            adopted = try read.bool("adopted") ?? false
            limits = try read.object("limits")
            mediaRoot = try read.optionalString("media_root")
            timings = (try read.object("timings") ?? [:]).compactMapValues(\.doubleValue)
        }

        public var json: [String: JSONValue] {
            var object: [String: JSONValue] = [
                "instance": .string(instance), "appserver": .string(appserver), "address": .string(address),
                "port": .int(Int64(port)), "bundle": .string(bundle), "project": .string(project),
                "user": .string(user), "pid": .int(Int64(pid)), "workers": .int(Int64(workers)),
                "adopted": .bool(adopted),
            ]
            if let limits { object["limits"] = .object(limits) }
            if let mediaRoot { object["media_root"] = .string(mediaRoot) }
            if !timings.isEmpty { object["timings"] = .object(timings.mapValues { .double($0) }) }
            return object
        }

        public static let keys = ["instance", "appserver", "address", "port", "bundle", "project", "user", "pid",
                                  "workers", "adopted", "limits", "media_root", "timings"]
    }
}
