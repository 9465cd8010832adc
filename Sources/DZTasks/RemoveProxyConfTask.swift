import DZJSON

/// `remove_proxy_conf` (queue `proxy`): take the project's nginx site away (checked with `nginx -t`, the site put
/// back if refused). Planned by `UndeployJob`, run by `RemoveProxyConfHandler`.
public enum RemoveProxyConfTask: TaskContract {
    public static let name = "remove_proxy_conf"
    public typealias Arguments = ProjectArguments

    public struct Output: TaskMessage, Equatable {
        /// False when there was no site.
        public var removed: Bool
        /// The site's file; nil from a handler that did not say.
        public var site: String?

        public init(removed: Bool, site: String?) {
            self.removed = removed
            self.site = site
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            removed = try read.bool("removed") ?? false
            site = try read.optionalString("site")
        }

        public var json: [String: JSONValue] { ["removed": .bool(removed), "site": site.map { .string($0) } ?? .null] }

        public static let keys = ["removed", "site"]
    }
}
