import DZJSON
import DZSpool

/// `unstage_static` (queue `proxy`): remove the static files `stage_static` staged for a release that did not go
/// live. The compensation of the release steps (`ReleaseSteps.unstageStatic`), run by `UnstageStaticHandler`; it
/// never touches a bundle's served directory.
public enum UnstageStaticTask: TaskContract {
    public static let name = "unstage_static"

    public struct Arguments: TaskMessage, Equatable {
        public var project: ProjectID
        public var bundle: String

        public init(project: ProjectID, bundle: String) {
            self.project = project
            self.bundle = bundle
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            project = try read.project()
            bundle = try read.string("bundle")
        }

        public var json: [String: JSONValue] { ["project": .string(project.rawValue), "bundle": .string(bundle)] }

        public static let keys = ["project", "bundle"]
    }

    public struct Output: TaskMessage, Equatable {
        /// False when nothing was staged for the bundle (any more).
        public var removed: Bool
        /// The staged directory.
        public var directory: String

        public init(removed: Bool, directory: String) {
            self.removed = removed
            self.directory = directory
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            removed = try read.bool("removed") ?? false
            directory = try read.string("directory")
        }

        public var json: [String: JSONValue] { ["removed": .bool(removed), "directory": .string(directory)] }

        public static let keys = ["removed", "directory"]
    }
}
