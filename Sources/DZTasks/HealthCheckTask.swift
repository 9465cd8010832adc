import DZJSON
import DZSpool

/// `health_check` (queue `appserver_<id>`): wait until an instance `deploy` started answers its health path
/// healthily. Planned by the deploying job kinds (`ReleaseSteps.healthCheck`, one per deployed instance), run by
/// `HealthCheckHandler`.
public enum HealthCheckTask: TaskContract {
    public static let name = "health_check"

    public struct Arguments: TaskMessage, Equatable {
        public var project: ProjectID
        /// The instance id, as `deploy`'s output names it.
        public var instance: String
        /// The first is the Host header of the request.
        public var hostnames: [Hostname]
        public var healthPath: String?
        /// Seconds to wait, 1 to 3600 (default 60).
        public var healthTimeout: Double?

        public init(project: ProjectID, instance: String, hostnames: [Hostname]) {
            self.project = project
            self.instance = instance
            self.hostnames = hostnames
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            project = try read.project()
            instance = try read.instanceID()
            hostnames = try read.hostnames()
            healthPath = try read.optionalString("health_path")
            healthTimeout = try read.number("health_timeout_s")
            if let healthTimeout, !(1...3600).contains(healthTimeout) {
                throw ContractViolation("health_timeout_s must be from 1 to 3600")
            }
        }

        public var json: [String: JSONValue] {
            var object: [String: JSONValue] = [
                "project": .string(project.rawValue), "instance": .string(instance),
                "hostnames": .array(hostnames.map { .string($0.rawValue) }),
            ]
            if let healthPath { object["health_path"] = .string(healthPath) }
            if let healthTimeout { object["health_timeout_s"] = .double(healthTimeout) }
            return object
        }

        public static let keys = ["project", "instance", "hostnames", "health_path", "health_timeout_s"]
    }

    public struct Output: TaskMessage, Equatable {
        public var instance: String
        /// The HTTP status of the healthy answer.
        public var status: Int

        public init(instance: String, status: Int) {
            self.instance = instance
            self.status = status
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            instance = try read.string("instance")
            status = try read.count("status", in: 100...599) ?? 0
        }

        public var json: [String: JSONValue] { ["instance": .string(instance), "status": .int(Int64(status))] }

        public static let keys = ["instance", "status"]
    }
}
