import DZAgent
import DZDeploy
import DZSpool
import DZTasks

/// `renew_certs` (queue `proxy`): renews every certificate ACME obtained on this proxy that expires within `days`
/// (argument, default 30) and whose project has a site here, one `obtain_cert` per project for its names whose certificate is due. Certificates given
/// with `dz certs add` are never renewed here (their owner renews them). Run it daily (`dz certs renew`, or the
/// line in etc/cron.d/dz). Fails (kind `acme`, retryable) when any renewal failed, after trying them all; the
/// others stay renewed. Output: `checked` (certificates looked at), `renewed` (`project/hostname` of each renewed).
public struct RenewCertsHandler: TaskHandler {
    public let name = "renew_certs"
    public let settings: ProxySettings

    public init(settings: ProxySettings) {
        self.settings = settings
    }

    public func run(_ context: TaskContext) async throws -> [String: JSONValue] {
        let days = try context.arguments(of: RenewCertsTask.self).days
        let check = CertificateCheck()
        let found = CertificateStore(root: settings.certificatesDirectory).acmeCertificates()
        var due: [ProjectID: [Hostname]] = [:]
        do throws(ProxyError) {
            // A project without a site here (undeployed) cannot answer HTTP-01: its certificates wait for its
            // next deploy instead of failing every day.
            for item in found where SiteFile(directory: settings.sitesDirectory, project: item.project).exists {
                if !(try await check.isValid(certificate: item.certificatePath, forSeconds: Int(days * 86400))) {
                    due[item.project, default: []].append(item.hostname)
                }
            }
        } catch {
            throw error.taskFailure
        }
        var renewed: [String] = []
        var failures: [String] = []
        for (project, hostnames) in due.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            do throws(ProxyError) {
                _ = try await ObtainCertHandler.obtain(project: project, hostnames: hostnames, settings: settings,
                                                       context: context)
                renewed += hostnames.map { project.rawValue + "/" + $0.rawValue }
            } catch {
                context.logger.warning("renewal failed", metadata: ["project": "\(project)", "error": "\(error)"])
                failures.append("\(project): \(error)")
            }
        }
        guard failures.isEmpty else {
            throw TaskFailure(kind: "acme", message: "renewal failed for " + failures.joined(separator: "; "),
                              retryable: true)
        }
        return RenewCertsTask.Output(checked: found.count, renewed: renewed).json
    }
}
