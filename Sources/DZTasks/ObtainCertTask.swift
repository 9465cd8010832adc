import DZJSON
import DZSpool

/// `obtain_cert` (queue `proxy`): obtain a certificate for a project's host names by ACME and serve it. Sent by
/// `dz certs acme`, run by `ObtainCertHandler`; `renew_certs` obtains again through the same code.
public enum ObtainCertTask: TaskContract {
    public static let name = "obtain_cert"

    public struct Arguments: TaskMessage, Equatable {
        public var project: ProjectID
        /// The names to obtain it for; empty: the names of the project's site on the proxy, wildcards left out.
        public var hostnames: [Hostname]

        public init(project: ProjectID, hostnames: [Hostname] = []) {
            self.project = project
            self.hostnames = hostnames
        }

        /// `hostnames` as an array of names or one comma-separated string (as `dz certs acme --hostnames` gives it).
        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            project = try read.project()
            do { hostnames = try Hostname.list(object["hostnames"]) } catch {
                throw ContractViolation("argument \"hostnames\": \(error.message)")
            }
        }

        public var json: [String: JSONValue] {
            var object: [String: JSONValue] = ["project": .string(project.rawValue)]
            if !hostnames.isEmpty { object["hostnames"] = .array(hostnames.map { .string($0.rawValue) }) }
            return object
        }

        public static let keys = ["project", "hostnames"]
    }

    public typealias Output = InstallCertTask.Output
}
