import DZJSON
import DZSpool

/// `stage_static` (queue `proxy`): put a release's static files on the proxy host ahead of its switch, where
/// `proxy_update` takes them from, so that the switch itself only writes the site, checks it and reloads nginx.
/// Planned by the release steps (`ReleaseSteps.stageStatic`) as soon as the bundle is stored, beside placement
/// and the deploys; run by `StageStaticHandler`. Staged files are never served: nginx serves a bundle's static
/// files only once `proxy_update` has renamed them into its directory and named it in the site.
public enum StageStaticTask: TaskContract {
    public static let name = "stage_static"

    public struct Arguments: TaskMessage, Equatable {
        public var project: ProjectID
        public var bundle: String
        /// The archive's SHA-256; nil: the stored manifest's.
        public var sha256: String?
        /// The release's static mappings, as `proxy_update` gets them (only the paths matter here).
        public var staticFiles: [ProxyUpdateTask.StaticFiles]

        public init(project: ProjectID, bundle: String, staticFiles: [ProxyUpdateTask.StaticFiles]) {
            self.project = project
            self.bundle = bundle
            self.staticFiles = staticFiles
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            project = try read.project()
            bundle = try read.string("bundle")
            sha256 = try read.optionalString("sha256")
            staticFiles = []
            for item in try read.array("static") ?? [] {
                staticFiles.append(try ProxyUpdateTask.StaticFiles(json: item))
            }
        }

        public var json: [String: JSONValue] {
            var object: [String: JSONValue] = [
                "project": .string(project.rawValue), "bundle": .string(bundle),
                "static": .array(staticFiles.map { .object($0.json) }),
            ]
            if let sha256 { object["sha256"] = .string(sha256) }
            return object
        }

        public static let keys = ["project", "bundle", "sha256", "static"]
    }

    /// Where the release's static files now are on the proxy host.
    public enum State: String, Sendable, Equatable {
        /// The release maps no static files: nothing to stage.
        case none
        /// The bundle's own directory has them already (the live bundle, or the one before it).
        case here
        /// They wait in the bundle's staged directory for `proxy_update`.
        case staged
    }

    public struct Output: TaskMessage, Equatable {
        public var bundle: String
        public var state: State
        /// The directory they are in (nil with `none`).
        public var directory: String?
        /// Whether this task fetched them (false: they were there already).
        public var fetched: Bool

        public init(bundle: String, state: State, directory: String?, fetched: Bool) {
            self.bundle = bundle
            self.state = state
            self.directory = directory
            self.fetched = fetched
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            bundle = try read.string("bundle")
            let text = try read.string("state")
            guard let state = State(rawValue: text) else {
                throw ContractViolation("output \"state\" must be none, here or staged, not \(text.prefix(20))")
            }
            self.state = state
            directory = try read.optionalString("directory")
            fetched = try read.bool("fetched") ?? false
        }

        public var json: [String: JSONValue] {
            ["bundle": .string(bundle), "state": .string(state.rawValue),
             "directory": directory.map { .string($0) } ?? .null, "fetched": .bool(fetched)]
        }

        public static let keys = ["bundle", "state", "directory", "fetched"]
    }
}
