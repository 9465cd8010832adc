import DZJSON
import DZSpool

/// `proxy_update` (queue `proxy`): point the project's nginx site at a release's instances and static files.
/// Planned by the deploying job kinds (`ReleaseSteps.proxyUpdate`), run by `ProxyUpdateHandler`, which checks
/// each value further (`UpstreamServer`, `StaticMapping`, `BodySizeLimit`) before anything changes.
public enum ProxyUpdateTask: TaskContract {
    public static let name = "proxy_update"

    public struct Arguments: TaskMessage, Equatable {
        public var project: ProjectID
        public var bundle: String
        /// The archive's SHA-256; nil: the stored manifest's.
        public var sha256: String?
        public var hostnames: [Hostname]
        /// Where traffic goes: at least one.
        public var upstreams: [Upstream]
        /// URL prefixes served from the bundle's collected static files.
        public var staticFiles: [StaticFiles]
        /// nginx's `client_max_body_size` (`20m` by default): a size such as `20m`, or bytes.
        public var clientMaxBodySize: String?
        /// `MEDIA_URL`, served from the app's media directory when the proxy's host has it.
        public var mediaURL: String?

        public init(project: ProjectID, bundle: String, hostnames: [Hostname], upstreams: [Upstream],
                    staticFiles: [StaticFiles] = []) {
            self.project = project
            self.bundle = bundle
            self.hostnames = hostnames
            self.upstreams = upstreams
            self.staticFiles = staticFiles
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            project = try read.project()
            bundle = try read.string("bundle")
            sha256 = try read.optionalString("sha256")
            hostnames = try read.hostnames()
            guard let servers = try read.array("upstreams") else {
                throw ContractViolation("argument \"upstreams\": missing")
            }
            upstreams = []
            for item in servers { upstreams.append(try Upstream(json: item)) }
            guard !upstreams.isEmpty else { throw ContractViolation("argument \"upstreams\": needs at least one server") }
            staticFiles = []
            for item in try read.array("static") ?? [] { staticFiles.append(try StaticFiles(json: item)) }
            switch read.value("client_max_body_size") {
            case nil: clientMaxBodySize = nil
            case .string(let text)?: clientMaxBodySize = text
            case .int(let bytes)? where bytes >= 0: clientMaxBodySize = String(bytes)
            case let other?:
                throw ContractViolation("argument \"client_max_body_size\": must be a string such as 20m, not "
                    + other.typeName)
            }
            mediaURL = try read.optionalString("media_url")
        }

        public var json: [String: JSONValue] {
            var object: [String: JSONValue] = [
                "project": .string(project.rawValue), "bundle": .string(bundle),
                "hostnames": .array(hostnames.map { .string($0.rawValue) }),
                "upstreams": .array(upstreams.map { .object($0.json) }),
                "static": .array(staticFiles.map { .object($0.json) }),
            ]
            if let sha256 { object["sha256"] = .string(sha256) }
            if let clientMaxBodySize { object["client_max_body_size"] = .string(clientMaxBodySize) }
            if let mediaURL { object["media_url"] = .string(mediaURL) }
            return object
        }

        public static let keys = ["project", "bundle", "sha256", "hostnames", "upstreams", "static",
                                  "client_max_body_size", "media_url"]
    }

    /// One instance traffic goes to.
    public struct Upstream: Sendable, Equatable {
        public var address: String
        public var port: Int

        public init(address: String, port: Int) {
            self.address = address
            self.port = port
        }

        /// `{"address": ..., "port": ...}`, the port a number or a string of up to five digits.
        init(json value: JSONValue) throws(ContractViolation) {
            guard case .object(let fields) = value else {
                throw ContractViolation("argument \"upstreams\": each server must be an object, not \(value.typeName)")
            }
            guard case .string(let address)? = fields["address"] else {
                throw ContractViolation("argument \"upstreams\": each server needs an \"address\" string")
            }
            let port: Int?
            switch fields["port"] {
            case .int(let number)?: port = Int(exactly: number)
            case .string(let text)? where (1...5).contains(text.utf8.count)
                && text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }):
                port = Int(text)
            default: port = nil
            }
            guard let port else { throw ContractViolation("argument \"upstreams\": each server needs a \"port\" number") }
            self.init(address: address, port: port)
        }

        public var json: [String: JSONValue] { ["address": .string(address), "port": .int(Int64(port))] }
    }

    /// A URL prefix and the directory of the bundle's collected static files behind it.
    public struct StaticFiles: Sendable, Equatable {
        public var url: String
        public var path: String

        public init(url: String, path: String) {
            self.url = url
            self.path = path
        }

        init(json value: JSONValue) throws(ContractViolation) {
            guard case .object(let fields) = value, case .string(let url)? = fields["url"],
                  case .string(let path)? = fields["path"]
            else {
                throw ContractViolation("argument \"static\": each entry must be an object with \"url\" and \"path\" strings")
            }
            self.init(url: url, path: path)
        }

        public var json: [String: JSONValue] { ["url": .string(url), "path": .string(path)] }
    }

    /// The site as it now is.
    public struct Output: TaskMessage, Equatable {
        /// The site's file.
        public var site: String
        public var bundle: String
        public var hostnames: [String]
        public var upstreams: [Upstream]
        /// The site's URLs, one per host name (https where a certificate is installed).
        public var urls: [String]
        /// Each static mapping with the directory it is served from.
        public var staticFiles: [[String: JSONValue]]
        /// Static directories of older bundles removed.
        public var removedStatic: [String]
        /// `{"url", "directory"}` when media are served from this host.
        public var media: [String: JSONValue]?
        /// Where the static files came from; nil from a handler that did not say.
        public var staticSource: StaticSource?

        public init(site: String, bundle: String, hostnames: [String], upstreams: [Upstream], urls: [String],
                    staticFiles: [[String: JSONValue]], removedStatic: [String], media: [String: JSONValue]?,
                    staticSource: StaticSource? = nil) {
            self.site = site
            self.bundle = bundle
            self.hostnames = hostnames
            self.upstreams = upstreams
            self.urls = urls
            self.staticFiles = staticFiles
            self.removedStatic = removedStatic
            self.media = media
            self.staticSource = staticSource
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            site = try read.string("site")
            bundle = try read.string("bundle")
            hostnames = (try read.array("hostnames") ?? []).compactMap(\.stringValue)
            upstreams = []
            for item in try read.array("upstreams") ?? [] { upstreams.append(try Upstream(json: item)) }
            urls = (try read.array("urls") ?? []).compactMap(\.stringValue)
            staticFiles = (try read.array("static") ?? []).compactMap(\.objectValue)
            removedStatic = (try read.array("removed_static") ?? []).compactMap(\.stringValue)
            media = try read.object("media")
            staticSource = try read.optionalString("static_source").flatMap(StaticSource.init(rawValue:))
        }

        public var json: [String: JSONValue] {
            [
                "site": .string(site), "bundle": .string(bundle), "hostnames": .array(hostnames.map { .string($0) }),
                "upstreams": .array(upstreams.map { .object($0.json) }), "urls": .array(urls.map { .string($0) }),
                "static": .array(staticFiles.map { .object($0) }),
                "removed_static": .array(removedStatic.map { .string($0) }),
                "media": media.map { .object($0) } ?? .null,
                "static_source": staticSource.map { .string($0.rawValue) } ?? .null,
            ]
        }

        public static let keys = ["site", "bundle", "hostnames", "upstreams", "urls", "static", "removed_static",
                                  "media", "static_source"]
    }

    /// Where `proxy_update` found the release's static files.
    public enum StaticSource: String, Sendable, Equatable {
        /// The release maps none.
        case none
        /// In the bundle's directory already (the live bundle, or the one before it).
        case here
        /// In the directory `stage_static` staged them in, renamed into place.
        case staged
        /// Fetched from the bundle store by proxy_update itself.
        case fetched
    }
}
