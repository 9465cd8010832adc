import DZAgent
import DZDeploy
import DZSpool
import DZSystem
import DZTasks

/// `obtain_cert` (queue `proxy`): obtains a certificate for a project's host names from the ACME server this proxy
/// was given (`dz agent --acme-directory`) and serves it (`dz certs acme`). Arguments: `project`, and optional
/// `hostnames` (default: the names of the project's site here, wildcards left out: HTTP-01 cannot prove them).
///
/// lego (`AcmeClient`) answers the HTTP-01 challenges through this nginx (every site serves
/// `/.well-known/acme-challenge/` from the ACME webroot), so the names must reach this proxy's HTTP port from the
/// ACME server. The certificate it obtains is checked and installed as `install_cert` does, marked as ACME's so
/// that `renew_certs` renews it. Kinds: `acme` (retryable) when lego fails, `proxy-settings` without an ACME
/// server. Output: `install_cert`'s.
public struct ObtainCertHandler: TaskHandler {
    public let name = "obtain_cert"
    public let settings: ProxySettings

    public init(settings: ProxySettings) {
        self.settings = settings
    }

    public func run(_ context: TaskContext) async throws -> [String: JSONValue] {
        let args = try context.arguments(of: ObtainCertTask.self)
        let project = args.project
        var hostnames = args.hostnames
        do throws(ProxyError) {
            if hostnames.isEmpty {
                let site = SiteFile(directory: settings.sitesDirectory, project: project)
                guard let arguments = site.keptArguments(), let names = try? Hostname.list(arguments["hostnames"]) else {
                    throw .invalid(field: "hostnames", "\(project) has no site on this proxy: deploy it first, or "
                        + "name the host names")
                }
                hostnames = names.filter { !$0.isWildcard }
                guard !hostnames.isEmpty else {
                    throw .invalid(field: "hostnames", "\(project) has only wildcard names, which HTTP-01 cannot prove")
                }
            }
            return try await Self.obtain(project: project, hostnames: hostnames, settings: settings,
                                         context: context).json
        } catch {
            throw error.taskFailure
        }
    }

    /// Runs the ACME client for `hostnames` and installs what it obtained for each of them.
    static func obtain(project: ProjectID, hostnames: [Hostname], settings: ProxySettings, context: TaskContext)
        async throws(ProxyError) -> ObtainCertTask.Output
    {
        for hostname in hostnames where hostname.isWildcard {
            throw .invalid(field: "hostnames", "\(hostname): HTTP-01 cannot prove a wildcard name")
        }
        context.logger.info("obtaining a certificate", metadata: ["project": "\(project)", "hostnames": "\(hostnames)"])
        let obtained = try await AcmeClient(settings: settings).obtain(hostnames)
        let certificate: [UInt8]
        let key: [UInt8]
        do throws(Errno) {
            certificate = try FileIO.readAll(obtained.certificatePath)
            key = try FileIO.readAll(obtained.keyPath)
        } catch {
            throw .filesystem(operation: "read", path: obtained.certificatePath, error)
        }
        return try await CertificateInstaller(settings: settings).install(
            project: project, hostnames: hostnames, certificate: certificate, key: key, acme: true,
            logger: context.logger)
    }
}
