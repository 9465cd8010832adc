import DZAgent
import DZSpool
import DZTasks
import Logging

/// Puts a certificate live on this proxy, for `install_cert` (a pair given by an operator) and `obtain_cert` (a
/// pair lego obtained): the same checks and the same way back.
///
/// 1. Each name's copy of the pair is written to a private staging directory and checked (`CertificateCheck`:
///    parses, not expired, covers the name, the key is the certificate's). A refusal changes nothing.
/// 2. Holding `SitesLock`: when the project has a site, every name must be one of its names. Each pair is renamed
///    into place (`CertificateStore`), the site is rendered again from the arguments of its last `proxy_update`
///    (`SiteFile.keptArguments`), with a TLS server per certificate and HTTP redirected, and `nginx -t` checks it.
///    A refusal or a failed reload puts the previous site and the previous pairs back.
///
/// Without a site yet, the pairs are only kept: the project's first `proxy_update` serves them.
public struct CertificateInstaller: Sendable {
    public let settings: ProxySettings
    public var lockTimeout: Double = 600
    public var check = CertificateCheck()

    /// The largest certificate (with its chain) and key accepted.
    public static let maxCertificateBytes = 256 << 10
    public static let maxKeyBytes = 64 << 10

    public init(settings: ProxySettings) {
        self.settings = settings
    }

    /// Installs `certificate` and `key` (PEM bytes) for each of `hostnames` of `project`; returns the task's output.
    public func install(project: ProjectID, hostnames: [Hostname], certificate: [UInt8], key: [UInt8], acme: Bool,
                        logger: Logger) async throws(ProxyError) -> InstallCertTask.Output
    {
        try settings.validate()
        guard !hostnames.isEmpty else { throw .invalid(field: "hostname", "needs a host name") }
        for hostname in hostnames where hostname.isWildcard {
            throw .invalid(field: "hostname", "\(hostname): certificates are kept per host name, not for a wildcard")
        }
        guard (1...Self.maxCertificateBytes).contains(certificate.count) else {
            throw .certificate("the certificate must be 1 byte to \(Self.maxCertificateBytes / 1024) KiB of PEM")
        }
        guard (1...Self.maxKeyBytes).contains(key.count) else {
            throw .certificate("the key must be 1 byte to \(Self.maxKeyBytes / 1024) KiB of PEM")
        }
        let store = CertificateStore(root: settings.certificatesDirectory)
        var staged: [(Hostname, CertificateStore.Staged)] = []
        defer { for (_, pair) in staged { pair.discard() } }
        var notAfter = ""
        for hostname in hostnames {
            let pair = try store.stage(project: project, certificate: certificate, key: key, acme: acme)
            staged.append((hostname, pair))
            notAfter = try await check.check(certificate: pair.certificatePath, key: pair.keyPath, hostname: hostname)
        }

        let lock = try await SitesLock.acquire(directory: settings.sitesDirectory, timeout: lockTimeout)
        defer { lock.unlock() }
        let siteFile = SiteFile(directory: settings.sitesDirectory, project: project)
        var request: ProxyUpdateRequest?
        if siteFile.exists, let arguments = siteFile.keptArguments() {
            do { request = try ProxyUpdateRequest(arguments: arguments) } catch {
                throw .badSettings("the kept arguments of \(siteFile.path) cannot be read again: \(error.message)")
            }
        }
        if let request {
            for hostname in hostnames where !request.hostnames.contains(hostname) {
                throw .invalid(field: "hostname", "\(hostname) is not a host name of \(project) (its names: "
                    + request.hostnames.map(\.rawValue).joined(separator: ", ") + ")")
            }
        }
        var installed: [CertificateStore.Installed] = []
        func undo() { for item in installed.reversed() { store.restore(item) } }
        do throws(ProxyError) {
            for (hostname, pair) in staged {
                installed.append(try store.install(pair, project: project, hostname: hostname))
            }
        } catch {
            undo()
            throw error
        }
        staged = []
        var output = InstallCertTask.Output(
            project: project.rawValue, hostnames: hostnames.map(\.rawValue), notAfter: notAfter,
            certificates: hostnames.map { store.directory(project, $0) + "/cert.pem" }, acme: acme)
        guard let request else {
            logger.info("certificate kept: the project has no site here yet",
                        metadata: ["project": "\(project)", "hostnames": "\(hostnames)"])
            return output
        }
        let site: NginxSite
        do { site = try request.site(settings: settings) } catch {
            undo()
            throw error
        }
        let hadPrevious: Bool
        do { hadPrevious = try siteFile.replace(with: site.render()) } catch {
            undo()
            throw error
        }
        let nginx = NginxController(settings: settings)
        do {
            try await nginx.test()
            try await nginx.reload()
        } catch {
            logger.warning("nginx did not take the site with its certificate: putting the previous one back",
                           metadata: ["site": "\(siteFile.path)", "error": "\(error)"])
            try? siteFile.restore(hadPrevious: hadPrevious)
            undo()
            throw error
        }
        logger.info("certificate installed", metadata: ["project": "\(project)", "hostnames": "\(hostnames)",
                                                        "not_after": "\(notAfter)"])
        output.siteUpdated = true
        output.site = siteFile.path
        output.urls = site.urls
        return output
    }
}
