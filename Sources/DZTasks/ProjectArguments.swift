import DZJSON
import DZSpool

/// The arguments of a task that needs only its project (`drop_media`, `remove_proxy_conf`).
public struct ProjectArguments: TaskMessage, Equatable {
    public var project: ProjectID

    public init(project: ProjectID) {
        self.project = project
    }

    public init(json object: [String: JSONValue]) throws(ContractViolation) {
        project = try MessageReader(object).project()
    }

    public var json: [String: JSONValue] { ["project": .string(project.rawValue)] }

    public static let keys = ["project"]
}
