import DZAgent
import DZDeploy
import DZSpool
import DZTasks

/// `install_cert` (queue `proxy`): serves a given certificate for one host name of a project over TLS
/// (`dz certs add`). Arguments: `project`, `hostname` (not a wildcard), `certificate` (PEM, with its chain) and
/// `private_key` (PEM, unencrypted).
///
/// The pair is checked before anything changes, then installed and the site rendered again with it (see
/// `CertificateInstaller`): a refused certificate fails with kind `certificate`, not retryable, and a site nginx
/// refuses with `nginx-config`, the previous site and certificate back in place. The key is never logged (the
/// audit log masks arguments named like keys) and does not stay in the spool: the agent rewrites the task file
/// without it before it goes to `done/` or `failed/` (`scrubbedArguments`).
///
/// Output: `project`, `hostnames`, `not_after`, `certificates` (the files), `site_updated` (false when the project
/// has no site here yet: its first `proxy_update` serves the certificate), `site` and `urls`.
public struct InstallCertHandler: TaskHandler {
    public let name = "install_cert"
    public let installer: CertificateInstaller
    public var scrubbedArguments: [String] { ["private_key"] }

    public init(settings: ProxySettings) {
        installer = CertificateInstaller(settings: settings)
    }

    public func run(_ context: TaskContext) async throws -> [String: JSONValue] {
        let args = try context.arguments(of: InstallCertTask.self)
        do throws(ProxyError) {
            return try await installer.install(project: args.project, hostnames: [args.hostname],
                                               certificate: Array(args.certificate.utf8),
                                               key: Array(args.privateKey.utf8), acme: false, logger: context.logger)
                .json
        } catch {
            throw error.taskFailure
        }
    }
}
