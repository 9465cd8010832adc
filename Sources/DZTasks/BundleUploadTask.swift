import DZJSON
import DZSpool

/// `bundle_upload` (the queue of the host that built the bundle): put a bundle this host built into the bundle
/// store, with its manifest. Planned by `BuildJob`, run by `BundleUploadHandler`.
public enum BundleUploadTask: TaskContract {
    public static let name = "bundle_upload"

    public struct Arguments: TaskMessage, Equatable {
        public var project: ProjectID
        /// The bundle's name: the file is always taken from the host's own bundles directory, never a path.
        public var bundle: String
        /// Delete the local archive too once stored.
        public var removeBuild: Bool

        public init(project: ProjectID, bundle: String, removeBuild: Bool = false) {
            self.project = project
            self.bundle = bundle
            self.removeBuild = removeBuild
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            project = try read.project()
            bundle = try read.string("bundle")
            removeBuild = try read.bool("remove_build") ?? false
        }

        public var json: [String: JSONValue] {
            var object: [String: JSONValue] = ["project": .string(project.rawValue), "bundle": .string(bundle)]
            if removeBuild { object["remove_build"] = .bool(true) }
            return object
        }

        public static let keys = ["project", "bundle", "remove_build"]
    }

    /// The stored bundle.
    public struct Output: TaskMessage, Equatable {
        public var bundle: String
        /// The object's key in the store, and its URL.
        public var key: String?
        public var url: String?
        /// The store's URL (credentials never in it).
        public var store: String?
        public var sha256: String?
        public var size: Int64?
        public var codeRevision: String?
        public var pythonVersion: String?
        public var djangoVersion: String?

        public init(bundle: String) {
            self.bundle = bundle
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            bundle = try read.string("bundle")
            key = try read.optionalString("key")
            url = try read.optionalString("url")
            store = try read.optionalString("store")
            sha256 = try read.optionalString("sha256")
            size = read.value("size")?.intValue
            codeRevision = try read.optionalString("code_revision")
            pythonVersion = try read.optionalString("python_version")
            djangoVersion = try read.optionalString("django_version")
        }

        public var json: [String: JSONValue] {
            var object: [String: JSONValue] = ["bundle": .string(bundle)]
            if let key { object["key"] = .string(key) }
            if let url { object["url"] = .string(url) }
            if let store { object["store"] = .string(store) }
            if let sha256 { object["sha256"] = .string(sha256) }
            if let size { object["size"] = .int(size) }
            if let codeRevision { object["code_revision"] = .string(codeRevision) }
            if let pythonVersion { object["python_version"] = .string(pythonVersion) }
            if let djangoVersion { object["django_version"] = .string(djangoVersion) }
            return object
        }

        public static let keys = ["bundle", "key", "url", "store", "sha256", "size", "code_revision",
                                  "python_version", "django_version"]
    }
}
