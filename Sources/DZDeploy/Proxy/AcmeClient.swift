import DZSpool
import DZSystem
import Foundation

/// The ACME client dz runs to obtain certificates: lego (Debian's `lego`, one static program; dz(1) says why not
/// certbot). It answers HTTP-01 by writing into the webroot that every site serves at
/// `/.well-known/acme-challenge/` (`--http --http.webroot`), keeps its account and certificates under
/// `<acme>/lego` (0700), and trusts the ACME server by the system's CAs or by `acmeCAFile`
/// (`LEGO_CA_CERTIFICATES`, for a test server such as pebble).
///
/// `lego run` registers the account when there is none and obtains a certificate for all the names at once
/// (one SAN certificate, a new key each time); its files are `<acme>/lego/certificates/<first name>.crt` (with
/// the chain) and `.key`, which `CertificateInstaller` then checks and installs like a given pair.
public struct AcmeClient: Sendable {
    public let settings: ProxySettings
    /// Seconds lego may take (it polls the ACME server for the validations).
    public var timeout: Double = 300

    public init(settings: ProxySettings) {
        self.settings = settings
    }

    /// The certificate and key lego obtained for `hostnames` (the first names the files).
    public struct Obtained: Sendable {
        public let certificatePath: String
        public let keyPath: String
    }

    /// Runs `lego run` for `hostnames` (no wildcards: HTTP-01 cannot prove them); throws `ProxyError.acme` with
    /// lego's last lines when it fails.
    public func obtain(_ hostnames: [Hostname]) async throws(ProxyError) -> Obtained {
        guard let server = settings.acmeServer else {
            throw .badSettings("no ACME server on this proxy: start its agent with --acme-directory URL")
        }
        guard let first = hostnames.first else { throw .invalid(field: "hostnames", "no host name for ACME") }
        let lego = settings.acmeDirectory + "/lego"
        let webroot = settings.acmeWebroot
        try CertificateStore.step("mkdir", settings.acmeDirectory) { () throws(Errno) in
            // nginx's workers read the answers: the webroot and its path are world-readable whatever the umask,
            // and nothing else is there; lego's account and keys are not.
            try FileSystem.makeDirectories(webroot + "/.well-known/acme-challenge", mode: 0o755, exactMode: true)
            try FileSystem.makeDirectories(lego, mode: 0o700)
            try FileSystem.setMode(lego, 0o700)
        }
        var arguments = [settings.acmeClient, "--accept-tos", "--server", server, "--path", lego, "--http",
                         "--http.webroot", webroot]
        if let email = settings.acmeEmail { arguments += ["--email", email] }
        for hostname in hostnames { arguments += ["--domains", hostname.rawValue] }
        arguments.append("run")
        var environment = ProcessInfo.processInfo.environment
        if let ca = settings.acmeCAFile { environment["LEGO_CA_CERTIFICATES"] = ca }
        let outcome: Subprocess.Outcome
        do {
            outcome = try await Subprocess.run(arguments, environment: environment, timeout: timeout, killGrace: 5,
                                               outputLimit: 64 << 10, kept: .tail)
        } catch Subprocess.Failure.notFound(let program) {
            throw .badSettings("\(program): not found: install lego (apt-get install -y lego)")
        } catch {
            throw .acme("cannot run \(settings.acmeClient): \(error)")
        }
        switch outcome.ending {
        case .timedOut: throw .timedOut(command: settings.acmeClient + " run", seconds: timeout)
        case .cancelled: throw .cancelled("obtaining a certificate")
        case .exited, .signalled: break
        }
        guard outcome.succeeded else { throw .acme(NginxController.message(outcome)) }
        let stem = lego + "/certificates/" + first.rawValue
        guard FileSystem.exists(stem + ".crt"), FileSystem.exists(stem + ".key") else {
            throw .acme("lego succeeded but left no \(stem).crt and .key")
        }
        return Obtained(certificatePath: stem + ".crt", keyPath: stem + ".key")
    }
}
