import DZSpool

/// One project's nginx site, rendered as the text of `<sites>/dz_<project>.conf`: an `upstream dz_<project>` of the
/// app servers, and a `server` that answers the project's host names, serves each static URL prefix from the
/// bundle's files and proxies everything else to the upstream.
///
/// Every value is checked when the site is made (`Hostname`, `UpstreamServer`, `StaticMapping`, `BodySizeLimit`,
/// `NginxToken` for directories, `ProjectID` and the bundle's name), so `render()` only joins plain tokens: no
/// argument can add a directive, a block or a variable to the file.
public struct NginxSite: Sendable, Equatable {
    public let project: ProjectID
    /// The bundle whose static files are served (and named in the file's header).
    public let bundle: String
    /// The `server_name`s, wildcards (`*.example.com`) included, in the task's order.
    public let hostnames: [Hostname]
    /// The app servers, in the task's order.
    public let upstreams: [UpstreamServer]
    /// The URL prefixes served from the bundle's directories.
    public let staticMappings: [StaticMapping]
    /// The directory holding the bundle's static directories: each mapping is served from `<this>/<path>/`.
    public let staticDirectory: String
    public let clientMaxBodySize: BodySizeLimit
    /// `listen [ADDRESS:]PORT`.
    public let listenPort: Int
    public let listenAddress: String?
    /// Where the site's `dz_<project>.access.log` and `dz_<project>.error.log` go.
    public let logsDirectory: String

    /// Idle connections to the app servers each nginx worker keeps open.
    public static let keepaliveConnections = 16

    /// Seconds nginx waits for an app server to take a connection before it tries the next one: an appserver that
    /// is down or hung (a host that answers no SYN, a server whose backlog is full) costs a request this long, not
    /// nginx's 60 s.
    public var connectTimeout = 3
    /// Seconds nginx waits for an answer to a request it sent, then tries the next server when the request may be
    /// repeated (GET, HEAD, PUT, DELETE, OPTIONS; never POST, PATCH or LOCK once sent) and answers 504 otherwise.
    /// gunicorn's own limit: dz starts its sync workers with gunicorn's default `--timeout` of 30 s, after which a
    /// silent worker is killed, so no answer that has not begun by then ever comes.
    public var readTimeout = 30

    /// The certificates of host names served over TLS (`listen <tlsPort> ssl`): HTTP requests for those names are
    /// redirected to HTTPS, but for ACME's `/.well-known/acme-challenge/`. Names without one are served over HTTP.
    public var certificates: [SiteCertificate] = []
    /// The port of the TLS servers, and the one in their URLs and redirects.
    public var tlsPort = 443
    /// When set, `MEDIA_URL` is served from the app's media directory on this host (see `MediaDirectory`), with
    /// `disable_symlinks if_not_owner` below it: the app owns what is there, so a link it made is followed only to
    /// a file of its own user, never to another app's files or the host's, whatever nginx's workers could read.
    /// `X-Content-Type-Options: nosniff`, since what users upload is served from the site's own origin.
    public var media: Media?

    /// `MEDIA_URL` and the directory it is served from.
    public struct Media: Sendable, Equatable {
        public let url: String
        public let directory: String

        /// Checks the URL as a static one (`StaticMapping`) and the directory as one nginx cannot misread.
        public init(url: String, directory: String) throws(ProxyError) {
            try StaticMapping.checkURL(url, field: "media_url")
            guard NginxToken.isSafePath(directory), directory.hasPrefix("/"), directory.count > 1,
                  !directory.hasSuffix("/") else {
                throw .badSettings("the media directory \"\(NginxToken.printable(directory))\" must be an absolute "
                    + "path of letters, digits and /._~+@:,=-")
            }
            self.url = url
            self.directory = directory
        }
    }
    /// When set, `/.well-known/acme-challenge/` of every host name is served from this directory (`root`), so that
    /// an ACME client's HTTP-01 answers (written to `<webroot>/.well-known/acme-challenge/`) reach the ACME server.
    public var acmeWebroot: String?

    /// A site from checked values; throws `ProxyError.invalid` for a bundle of another project, no host name, no
    /// upstream or a URL mapped twice, and `.badSettings` for a port, address or directory nginx could misread.
    public init(project: ProjectID, bundle: String, hostnames: [Hostname], upstreams: [UpstreamServer],
                staticMappings: [StaticMapping] = [], staticDirectory: String,
                clientMaxBodySize: BodySizeLimit = .standard, listenPort: Int = 80, listenAddress: String? = nil,
                logsDirectory: String) throws(ProxyError)
    {
        guard bundle.hasPrefix("bundle_" + project.rawValue + "_"), TaskID.isValid(bundle) else {
            throw .invalid(field: "bundle", "\"\(NginxToken.printable(bundle))\" is not a bundle of project \(project)")
        }
        guard !hostnames.isEmpty else { throw .invalid(field: "hostnames", "needs at least one host name") }
        guard !upstreams.isEmpty else { throw .invalid(field: "upstreams", "needs at least one server") }
        guard Set(staticMappings.map(\.url)).count == staticMappings.count else {
            throw .invalid(field: "static", "a url is mapped twice")
        }
        guard (1...65535).contains(listenPort) else { throw .badSettings("the listen port \(listenPort) is out of range") }
        if let listenAddress, UpstreamServer.literalAddress(listenAddress) == nil {
            throw .badSettings("the listen address \"\(NginxToken.printable(listenAddress))\" is not an IP address")
        }
        for (name, path) in [("static directory", staticDirectory), ("logs directory", logsDirectory)]
            where !NginxToken.isSafePath(path) || !path.hasPrefix("/")
        {
            throw .badSettings("the \(name) \"\(NginxToken.printable(path))\" must be an absolute path of letters, "
                + "digits and /._~+@:,=-")
        }
        self.project = project
        self.bundle = bundle
        self.hostnames = hostnames
        self.upstreams = upstreams
        self.staticMappings = staticMappings
        self.staticDirectory = staticDirectory
        self.clientMaxBodySize = clientMaxBodySize
        self.listenPort = listenPort
        self.listenAddress = listenAddress
        self.logsDirectory = logsDirectory
    }

    /// The site of `project` on a host with `settings`, its static files in `StaticFiles`' directory of the bundle.
    public init(project: ProjectID, bundle: String, hostnames: [Hostname], upstreams: [UpstreamServer],
                staticMappings: [StaticMapping], clientMaxBodySize: BodySizeLimit = .standard,
                settings: ProxySettings) throws(ProxyError)
    {
        try self.init(project: project, bundle: bundle, hostnames: hostnames, upstreams: upstreams,
                      staticMappings: staticMappings,
                      staticDirectory: StaticFiles.directory(root: settings.staticRoot, project: project, bundle: bundle),
                      clientMaxBodySize: clientMaxBodySize, listenPort: settings.listenPort,
                      listenAddress: settings.listenAddress, logsDirectory: settings.logsDirectory)
    }

    /// `dz_<project>`: the upstream's name, and the stem of the site's file and logs.
    public var name: String { "dz_" + project.rawValue }

    /// `dz_<project>.conf`.
    public var fileName: String { name + ".conf" }

    /// `http://<name>/` (with `:<port>` unless it is 80) for every host name that is not a wildcard, or
    /// `https://<name>/` (with `:<tlsPort>` unless it is 443) for the names with a certificate.
    public var urls: [String] {
        let port = listenPort == 80 ? "" : ":" + String(listenPort)
        let securePort = tlsPort == 443 ? "" : ":" + String(tlsPort)
        let secure = Set(certificates.map(\.hostname))
        return hostnames.filter { !$0.isWildcard }.map { name in
            secure.contains(name) ? "https://" + name.rawValue + securePort + "/" : "http://" + name.rawValue + port + "/"
        }
    }

    /// `listen [ADDRESS:]PORT` with `suffix` (` ssl`).
    private func listen(_ port: Int, _ suffix: String = "") -> String {
        if let listenAddress { return "    listen \(UpstreamServer.bracketed(listenAddress)):\(port)\(suffix);" }
        return "    listen \(port)\(suffix);"
    }

    /// The location of ACME's HTTP-01 answers, when there is a webroot.
    private var acmeLocation: [String] {
        guard let acmeWebroot else { return [] }
        return ["", "    location ^~ /.well-known/acme-challenge/ {", "        root \(acmeWebroot);",
                "        default_type text/plain;", "    }"]
    }

    /// What every server that serves the app has: the body size limit and the logs.
    private var common: [String] {
        ["    client_max_body_size \(clientMaxBodySize);", "    access_log \(logsDirectory)/\(name).access.log;",
         "    error_log \(logsDirectory)/\(name).error.log;"]
    }

    /// The static locations and the proxied rest.
    private var application: [String] {
        var lines: [String] = []
        if let media {
            lines += ["", "    location ^~ \(media.url) {", "        alias \(media.directory)/;",
                      "        disable_symlinks if_not_owner from=\(media.directory);",
                      "        add_header X-Content-Type-Options nosniff;", "    }"]
        }
        for mapping in staticMappings where mapping.url != media?.url {
            // ^~: a static prefix wins over any regular expression location; both ends keep their slash.
            lines += ["", "    location ^~ \(mapping.url) {", "        alias \(staticDirectory)/\(mapping.path)/;", "    }"]
        }
        lines += [
            "",
            "    location / {",
            "        proxy_pass http://\(name);",
            "        proxy_http_version 1.1;",
            "        proxy_set_header Connection \"\";",
            "        proxy_set_header Host $host;",
            "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
            "        proxy_set_header X-Forwarded-Proto $scheme;",
            "        proxy_set_header X-Real-IP $remote_addr;",
            "        proxy_connect_timeout \(connectTimeout)s;",
            "        proxy_read_timeout \(readTimeout)s;",
            // Without `non_idempotent`, nginx never sends a POST, PATCH or LOCK to a second server once it went to
            // one: only requests that may be repeated are retried.
            "        proxy_next_upstream error timeout http_502 http_503;",
            "    }",
        ]
        return lines
    }

    /// The site file's text: the upstream; a server for the names served over HTTP; one that redirects the names
    /// with a certificate to HTTPS; and a TLS server per certificate.
    public func render() -> String {
        var lines = [
            "# \(fileName): written by dz (proxy_update) for project \(project), bundle \(bundle).",
            "# Do not edit: the next proxy_update of \(project) replaces this file and remove_proxy_conf removes it.",
            "",
            "upstream \(name) {",
        ]
        lines += upstreams.map { "    server \($0.endpoint) max_fails=2 fail_timeout=10s;" }
        lines += ["    keepalive \(Self.keepaliveConnections);", "}"]
        let secure = Set(certificates.map(\.hostname))
        let plain = hostnames.filter { !secure.contains($0) }
        if !plain.isEmpty {
            lines += ["", "server {", listen(listenPort), "    server_name \(plain.map(\.rawValue).joined(separator: " "));"]
            lines += common + acmeLocation + application + ["}"]
        }
        let redirected = hostnames.filter { secure.contains($0) }
        if !redirected.isEmpty {
            // $host is one of this server's names (nginx chose the server by it); the port is ours.
            let port = tlsPort == 443 ? "" : ":" + String(tlsPort)
            lines += ["", "server {", listen(listenPort),
                      "    server_name \(redirected.map(\.rawValue).joined(separator: " "));",
                      "    access_log \(logsDirectory)/\(name).access.log;",
                      "    error_log \(logsDirectory)/\(name).error.log;"]
            lines += acmeLocation
            lines += ["", "    location / {", "        return 301 https://$host\(port)$request_uri;", "    }", "}"]
        }
        for certificate in certificates where hostnames.contains(certificate.hostname) {
            lines += ["", "server {", listen(tlsPort, " ssl"), "    server_name \(certificate.hostname.rawValue);",
                      "    ssl_certificate \(certificate.certificatePath);",
                      "    ssl_certificate_key \(certificate.keyPath);"]
            lines += common + application + ["}"]
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
