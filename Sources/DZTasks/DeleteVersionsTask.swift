import DZJSON
import DZSpool

/// `delete_versions` (queue `build`): remove bundles of a project from the bundle store (archive and manifest).
/// Planned by `DeleteVersionsJob`, run by `DeleteVersionsHandler` (which checks each name is the project's).
public enum DeleteVersionsTask: TaskContract {
    public static let name = "delete_versions"

    public struct Arguments: TaskMessage, Equatable {
        public var project: ProjectID
        public var bundles: [String]

        public init(project: ProjectID, bundles: [String]) {
            self.project = project
            self.bundles = bundles
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            project = try read.project()
            guard case .array(let items)? = read.value("bundles") else {
                throw ContractViolation("argument \"bundles\" must be an array of bundle names")
            }
            bundles = try items.map { item throws(ContractViolation) in
                guard let text = item.stringValue else { throw ContractViolation("bundle names must be strings") }
                return text
            }
        }

        public var json: [String: JSONValue] {
            ["project": .string(project.rawValue), "bundles": .array(bundles.map { .string($0) })]
        }

        public static let keys = ["project", "bundles"]
    }

    public struct Output: TaskMessage, Equatable {
        /// The bundles no longer in the store (already gone counts).
        public var deleted: [String]

        public init(deleted: [String]) {
            self.deleted = deleted
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            deleted = (try MessageReader(object).array("deleted") ?? []).compactMap(\.stringValue)
        }

        public var json: [String: JSONValue] { ["deleted": .array(deleted.map { .string($0) })] }

        public static let keys = ["deleted"]
    }
}
