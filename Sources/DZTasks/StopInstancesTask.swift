import DZJSON
import DZSpool

/// `stop_instances` (queue `appserver_<id>`): stop instances of a project on this appserver. Planned by
/// `DeploySteps.stop` (undeploy, retire_old, scale, recover, a failed deploy's compensation), run by
/// `StopInstancesHandler`.
public enum StopInstancesTask: TaskContract {
    public static let name = "stop_instances"

    public struct Arguments: TaskMessage, Equatable {
        public var project: ProjectID
        /// Instance ids; ones this host does not know are reported as missing.
        public var instances: [String]
        /// Seconds gunicorn may finish its requests after SIGTERM, 0 to 3600 (default 30).
        public var grace: Double?
        /// Delete bundles no remaining instance uses (default true).
        public var removeBundles: Bool?

        public init(project: ProjectID, instances: [String]) {
            self.project = project
            self.instances = instances
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            project = try read.project()
            instances = try read.instanceIDs()
            grace = try read.number("grace_s")
            if let grace, !(0...3600).contains(grace) { throw ContractViolation("grace_s must be from 0 to 3600") }
            switch read.value("remove_bundles") {
            case nil: removeBundles = nil
            case .bool(let value)?: removeBundles = value
            case let other?: throw ContractViolation("remove_bundles must be a boolean, not \(other.typeName)")
            }
        }

        public var json: [String: JSONValue] {
            var object: [String: JSONValue] = [
                "project": .string(project.rawValue), "instances": .array(instances.map { .string($0) }),
            ]
            if let grace { object["grace_s"] = .double(grace) }
            if let removeBundles { object["remove_bundles"] = .bool(removeBundles) }
            return object
        }

        public static let keys = ["project", "instances", "grace_s", "remove_bundles"]
    }

    public struct Output: TaskMessage, Equatable {
        public var stopped: [String]
        /// Ids this host did not know (stopped already, or never here).
        public var missing: [String]
        /// Bundle directories removed (renamed aside at once, deleted after the task has reported).
        public var removedBundles: [String]

        public init(stopped: [String], missing: [String], removedBundles: [String]) {
            self.stopped = stopped
            self.missing = missing
            self.removedBundles = removedBundles
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            stopped = (try read.array("stopped") ?? []).compactMap(\.stringValue)
            missing = (try read.array("missing") ?? []).compactMap(\.stringValue)
            removedBundles = (try read.array("removed_bundles") ?? []).compactMap(\.stringValue)
        }

        public var json: [String: JSONValue] {
            ["stopped": .array(stopped.map { .string($0) }), "missing": .array(missing.map { .string($0) }),
             "removed_bundles": .array(removedBundles.map { .string($0) })]
        }

        public static let keys = ["stopped", "missing", "removed_bundles"]
    }
}
