import DZBuild
import DZSpool
import Foundation

/// How this proxy host runs nginx and where it keeps what `proxy_update` writes.
///
/// `dz agent` builds it from its flags, each falling back to an environment variable:
///
/// | flag | variable | default |
/// |---|---|---|
/// | `--nginx` | `DZ_NGINX` | `nginx` (looked up on `PATH`) |
/// | `--nginx-prefix` | `DZ_NGINX_PREFIX` | none: nginx's compiled-in prefix |
/// | `--nginx-conf` | `DZ_NGINX_CONF` | none: nginx's compiled-in configuration file |
/// | `--nginx-sites` | `DZ_NGINX_SITES` | `<prefix>/sites` with a prefix, else `/etc/nginx/sites-enabled` |
/// | `--proxy-port` | `DZ_PROXY_PORT` | 80 |
/// | `--proxy-address` | `DZ_PROXY_ADDRESS` | none: `listen PORT` on every address |
/// | `--proxy-tls-port` | `DZ_PROXY_TLS_PORT` | 443 |
/// | `--acme-directory` | `DZ_ACME_DIRECTORY` | none: no ACME |
/// | `--acme-email` | `DZ_ACME_EMAIL` | none |
/// | `--acme-ca-file` | `DZ_ACME_CA_FILE` | none: the system's CAs |
///
/// With a prefix or a configuration file, every nginx command gets `-p PREFIX` and `-c CONF`. The nginx
/// configuration must include `<sites>/*.conf` (Debian's includes every file of `sites-enabled`; dz's own hidden
/// files there start with a dot, which nginx's glob skips) and should have a `default_server` on the listen port,
/// so that a request for a name no site serves is not answered by whichever site comes first.
///
/// Static files live under `staticRoot` (`<data>/static`), logs of each site under `logsDirectory` (`<prefix>/logs`
/// or `/var/log/nginx`). Every directory is made absolute: nginx reads relative paths from its prefix. nginx's
/// worker user must be able to enter `staticRoot` and every directory above it.
public struct ProxySettings: Sendable, Equatable {
    /// The nginx program: a name looked up on `PATH` or a path.
    public var nginx: String
    /// nginx's `-p`, when set.
    public var prefix: String?
    /// nginx's `-c`, when set.
    public var conf: String?
    /// Where site files go: `<sites>/dz_<project>.conf`.
    public var sitesDirectory: String
    /// The port each site listens on, and the one in the URLs reported.
    public var listenPort: Int
    /// An address to listen on (`listen ADDRESS:PORT`), or nil for every address.
    public var listenAddress: String?
    /// Where each bundle's static files are kept: `<staticRoot>/<project>/<bundle>/`.
    public var staticRoot: String
    /// Where each site's `dz_<project>.access.log` and `dz_<project>.error.log` go.
    public var logsDirectory: String
    /// Seconds an nginx command (`-t`, `-s reload`) may take.
    public var commandTimeout: Double
    /// The port of the TLS servers of sites with a certificate.
    public var tlsPort: Int
    /// Where certificates and their keys are kept (`CertificateStore`): `<data>/certs`.
    public var certificatesDirectory: String
    /// Where the ACME client keeps its account and what it obtained (`<acme>/lego`), and the webroot nginx serves
    /// `/.well-known/acme-challenge/` from (`<acme>/webroot`): `<data>/acme`.
    public var acmeDirectory: String
    /// The ACME server's directory URL (`https://.../directory`), or nil: no ACME on this host.
    public var acmeServer: String?
    /// The contact address of the ACME account.
    public var acmeEmail: String?
    /// A PEM file of CAs that the ACME server's own TLS certificate is checked against (a test server's).
    public var acmeCAFile: String?
    /// The ACME client program: lego (see `AcmeClient`).
    public var acmeClient: String = "lego"
    /// Where the appservers keep apps' media directories (`AppServerSettings.mediaRoot`: `<mediaRoot>/<project>`)
    /// as this host sees them: `MEDIA_URL` is served from there when the project's directory is on this host (the
    /// appserver is this host, or the hosts share the directory at the same path). Nil: media are not served.
    /// `WorkHandlers` sets it to this host's own appserver settings'.
    public var mediaRoot: String?

    /// The directory nginx serves ACME's HTTP-01 answers from.
    public var acmeWebroot: String { acmeDirectory + "/webroot" }

    /// Settings with the defaults above; relative directories are taken from the current directory.
    public init(workspace: Workspace, nginx: String = "nginx", prefix: String? = nil, conf: String? = nil,
                sitesDirectory: String? = nil, listenPort: Int = 80, listenAddress: String? = nil,
                staticRoot: String? = nil, logsDirectory: String? = nil, commandTimeout: Double = 30,
                tlsPort: Int = 443, acmeServer: String? = nil, acmeEmail: String? = nil, acmeCAFile: String? = nil)
    {
        let prefix = prefix.map(Self.absolute)
        self.nginx = nginx
        self.prefix = prefix
        self.conf = conf.map(Self.absolute)
        self.sitesDirectory = Self.absolute(sitesDirectory ?? prefix.map { $0 + "/sites" } ?? "/etc/nginx/sites-enabled")
        self.listenPort = listenPort
        self.listenAddress = listenAddress
        self.staticRoot = Self.absolute(staticRoot ?? workspace.root + "/static")
        self.logsDirectory = Self.absolute(logsDirectory ?? prefix.map { $0 + "/logs" } ?? "/var/log/nginx")
        self.commandTimeout = commandTimeout
        self.tlsPort = tlsPort
        certificatesDirectory = Self.absolute(workspace.root + "/certs")
        acmeDirectory = Self.absolute(workspace.root + "/acme")
        self.acmeServer = acmeServer
        self.acmeEmail = acmeEmail
        self.acmeCAFile = acmeCAFile.map(Self.absolute)
    }

    /// The settings from `dz agent`'s flags (nil where not given), each falling back to its environment variable,
    /// checked: the port, the listen address, and that every directory can be written into a site file.
    public static func resolve(
        nginx: String? = nil, prefix: String? = nil, conf: String? = nil, sites: String? = nil,
        listenPort: String? = nil, listenAddress: String? = nil, tlsPort: String? = nil, acmeServer: String? = nil,
        acmeEmail: String? = nil, acmeCAFile: String? = nil, workspace: Workspace, environment: [String: String]
    ) throws(ProxyError) -> ProxySettings {
        func value(_ flag: String?, _ variable: String) -> String? {
            if let flag, !flag.isEmpty { return flag }
            if let fromEnvironment = environment[variable], !fromEnvironment.isEmpty { return fromEnvironment }
            return nil
        }
        var port = 80
        if let text = value(listenPort, "DZ_PROXY_PORT") {
            guard let number = Int(text), (1...65535).contains(number) else {
                throw .badSettings("--proxy-port must be a port number from 1 to 65535, not \"\(NginxToken.printable(text))\"")
            }
            port = number
        }
        var securePort = 443
        if let text = value(tlsPort, "DZ_PROXY_TLS_PORT") {
            guard let number = Int(text), (1...65535).contains(number) else {
                throw .badSettings("--proxy-tls-port must be a port number from 1 to 65535, not \"\(NginxToken.printable(text))\"")
            }
            securePort = number
        }
        let settings = ProxySettings(
            workspace: workspace, nginx: value(nginx, "DZ_NGINX") ?? "nginx", prefix: value(prefix, "DZ_NGINX_PREFIX"),
            conf: value(conf, "DZ_NGINX_CONF"), sitesDirectory: value(sites, "DZ_NGINX_SITES"), listenPort: port,
            listenAddress: value(listenAddress, "DZ_PROXY_ADDRESS"), tlsPort: securePort,
            acmeServer: value(acmeServer, "DZ_ACME_DIRECTORY"), acmeEmail: value(acmeEmail, "DZ_ACME_EMAIL"),
            acmeCAFile: value(acmeCAFile, "DZ_ACME_CA_FILE"))
        try settings.validate()
        return settings
    }

    /// Checks what goes into site files: the directories' characters, the port and the listen address.
    public func validate() throws(ProxyError) {
        for (name, path) in [("static root", staticRoot), ("logs directory", logsDirectory),
                             ("sites directory", sitesDirectory), ("certificates directory", certificatesDirectory),
                             ("ACME directory", acmeDirectory), ("media root", mediaRoot ?? "/")]
            where !NginxToken.isSafePath(path)
        {
            throw .badSettings("the \(name) \"\(NginxToken.printable(path))\" has characters nginx would read as "
                + "syntax: use letters, digits and /._~+@:,=-")
        }
        guard (1...65535).contains(listenPort) else { throw .badSettings("the listen port \(listenPort) is out of range") }
        if let listenAddress, UpstreamServer.literalAddress(listenAddress) == nil {
            throw .badSettings("the listen address \"\(NginxToken.printable(listenAddress))\" is not an IPv4 or IPv6 address")
        }
        guard !nginx.isEmpty else { throw .badSettings("the nginx program is empty") }
        guard (1...65535).contains(tlsPort), tlsPort != listenPort else {
            throw .badSettings("the TLS port \(tlsPort) must be from 1 to 65535 and not the HTTP port")
        }
        if let acmeServer {
            guard acmeServer.hasPrefix("https://"), acmeServer.utf8.count <= 1024,
                  acmeServer.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f })
            else {
                throw .badSettings("--acme-directory must be an https:// URL, not \"\(NginxToken.printable(acmeServer))\"")
            }
        }
        if let acmeEmail {
            let parts = acmeEmail.split(separator: "@", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, Hostname.isValid(parts[1].lowercased()),
                  acmeEmail.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: ",") })
            else {
                throw .badSettings("--acme-email must be an address such as ops@example.com, not \"\(NginxToken.printable(acmeEmail))\"")
            }
        }
    }

    /// The arguments every nginx command starts with: the program, then `-p PREFIX` and `-c CONF` when set.
    public var nginxCommand: [String] {
        [nginx] + (prefix.map { ["-p", $0] } ?? []) + (conf.map { ["-c", $0] } ?? [])
    }

    /// `path` made absolute against the current directory, without trailing slashes.
    static func absolute(_ path: String) -> String {
        var full = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        while full.count > 1, full.hasSuffix("/") { full.removeLast() }
        return full
    }
}
