import DZJSON
import DZSpool

/// `scale_workers` (queue `appserver_<id>`): change the number of gunicorn workers of running instances in place.
/// Planned by `ScaleJob`, run by `ScaleWorkersHandler`.
public enum ScaleWorkersTask: TaskContract {
    public static let name = "scale_workers"

    public struct Arguments: TaskMessage, Equatable {
        public var project: ProjectID
        /// Instances of the project on this appserver: at least one.
        public var instances: [String]
        /// 1 to 32.
        public var workers: Int
        /// Seconds each instance may take to reach the count, 1 to 600 (default 30).
        public var timeout: Double?

        public init(project: ProjectID, instances: [String], workers: Int) {
            self.project = project
            self.instances = instances
            self.workers = workers
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            project = try read.project()
            instances = try read.instanceIDs()
            guard !instances.isEmpty else { throw ContractViolation("instances: give at least one instance id") }
            guard let workers = try read.count("workers", in: 1...32) else {
                throw ContractViolation("missing argument \"workers\"")
            }
            self.workers = workers
            timeout = try read.number("timeout_s")
            if let timeout, !(1...600).contains(timeout) { throw ContractViolation("timeout_s must be from 1 to 600") }
        }

        public var json: [String: JSONValue] {
            var object: [String: JSONValue] = [
                "project": .string(project.rawValue), "instances": .array(instances.map { .string($0) }),
                "workers": .int(Int64(workers)),
            ]
            if let timeout { object["timeout_s"] = .double(timeout) }
            return object
        }

        public static let keys = ["project", "instances", "workers", "timeout_s"]
    }

    public struct Output: TaskMessage, Equatable {
        public var project: String
        public var workers: Int
        /// Each instance's change.
        public var instances: [Change]

        public init(project: String, workers: Int, instances: [Change]) {
            self.project = project
            self.workers = workers
            self.instances = instances
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            project = try read.string("project")
            workers = try read.count("workers", in: 1...32) ?? 0
            instances = try (read.array("instances") ?? []).map { item throws(ContractViolation) in
                guard let fields = item.objectValue, let instance = fields["instance"]?.stringValue else {
                    throw ContractViolation("instances must be objects with an instance id")
                }
                return Change(instance: instance, pid: Int(fields["pid"]?.intValue ?? 0),
                              before: Int(fields["before"]?.intValue ?? 0), after: Int(fields["after"]?.intValue ?? 0))
            }
        }

        public var json: [String: JSONValue] {
            ["project": .string(project), "workers": .int(Int64(workers)),
             "instances": .array(instances.map { change in
                .object(["instance": .string(change.instance), "pid": .int(Int64(change.pid)),
                         "before": .int(Int64(change.before)), "after": .int(Int64(change.after))])
             })]
        }

        public static let keys = ["project", "workers", "instances"]
    }

    /// One instance's workers before and after (as `/proc` showed them), and its gunicorn master.
    public struct Change: Sendable, Equatable {
        public var instance: String
        public var pid: Int
        public var before: Int
        public var after: Int

        public init(instance: String, pid: Int, before: Int, after: Int) {
            self.instance = instance
            self.pid = pid
            self.before = before
            self.after = after
        }
    }
}
