import DZJSON
import DZSpool

/// `install_cert` (queue `proxy`): serve a given certificate for one host name of a project over TLS. Sent by
/// `dz certs add`, run by `InstallCertHandler`.
public enum InstallCertTask: TaskContract {
    public static let name = "install_cert"

    public struct Arguments: TaskMessage, Equatable {
        public var project: ProjectID
        /// Not a wildcard (checked by the handler: certificates are kept per host name).
        public var hostname: Hostname
        /// PEM, with its chain.
        public var certificate: String
        /// PEM, unencrypted. The agent scrubs it from the task file before the file is kept.
        public var privateKey: String

        public init(project: ProjectID, hostname: Hostname, certificate: String, privateKey: String) {
            self.project = project
            self.hostname = hostname
            self.certificate = certificate
            self.privateKey = privateKey
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            project = try read.project()
            let text = try read.string("hostname")
            do { hostname = try Hostname(text) } catch { throw ContractViolation(error.message) }
            certificate = try read.string("certificate")
            privateKey = try read.string("private_key")
        }

        public var json: [String: JSONValue] {
            ["project": .string(project.rawValue), "hostname": .string(hostname.rawValue),
             "certificate": .string(certificate), "private_key": .string(privateKey)]
        }

        public static let keys = ["project", "hostname", "certificate", "private_key"]
    }

    /// A certificate installed (by `install_cert` or `obtain_cert`) and where it is served.
    public struct Output: TaskMessage, Equatable {
        public var project: String
        public var hostnames: [String]
        /// The certificate's end of validity, as openssl prints it.
        public var notAfter: String
        /// The installed certificate files, one per host name.
        public var certificates: [String]
        /// Whether ACME obtained it (`obtain_cert`: `renew_certs` renews it).
        public var acme: Bool
        /// False when the project has no site here yet: its first `proxy_update` serves it.
        public var siteUpdated: Bool
        /// The site file and its URLs, when the site was rendered again.
        public var site: String?
        public var urls: [String]

        public init(project: String, hostnames: [String], notAfter: String, certificates: [String], acme: Bool,
                    siteUpdated: Bool = false, site: String? = nil, urls: [String] = [])
        {
            self.project = project
            self.hostnames = hostnames
            self.notAfter = notAfter
            self.certificates = certificates
            self.acme = acme
            self.siteUpdated = siteUpdated
            self.site = site
            self.urls = urls
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            project = try read.optionalString("project") ?? ""
            hostnames = (try read.array("hostnames") ?? []).compactMap(\.stringValue)
            notAfter = try read.optionalString("not_after") ?? "?"
            certificates = (try read.array("certificates") ?? []).compactMap(\.stringValue)
            acme = try read.bool("acme") ?? false
            siteUpdated = try read.bool("site_updated") ?? false
            site = try read.optionalString("site")
            urls = (try read.array("urls") ?? []).compactMap(\.stringValue)
        }

        public var json: [String: JSONValue] {
            var object: [String: JSONValue] = [
                "project": .string(project), "hostnames": .array(hostnames.map { .string($0) }),
                "not_after": .string(notAfter), "acme": .bool(acme), "site_updated": .bool(siteUpdated),
                "certificates": .array(certificates.map { .string($0) }),
            ]
            if let site { object["site"] = .string(site) }
            if siteUpdated { object["urls"] = .array(urls.map { .string($0) }) }
            return object
        }

        public static let keys = ["project", "hostnames", "not_after", "certificates", "acme", "site_updated", "site",
                                  "urls"]
    }
}
