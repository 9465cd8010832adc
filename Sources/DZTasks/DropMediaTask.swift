import DZJSON

/// `drop_media` (queue `appserver_<id>`, undeploy with `--drop-data`): remove the project's media directory on
/// this appserver. Planned by `UndeployJob`, run by `DropMediaHandler`.
public enum DropMediaTask: TaskContract {
    public static let name = "drop_media"
    public typealias Arguments = ProjectArguments

    public struct Output: TaskMessage, Equatable {
        public var directory: String
        /// False when there was none (or another appserver sharing it removed it first).
        public var dropped: Bool

        public init(directory: String, dropped: Bool) {
            self.directory = directory
            self.dropped = dropped
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            directory = try read.string("directory")
            dropped = try read.bool("dropped") ?? false
        }

        public var json: [String: JSONValue] { ["directory": .string(directory), "dropped": .bool(dropped)] }

        public static let keys = ["directory", "dropped"]
    }
}
