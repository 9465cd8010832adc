import DZAgent
import DZSpool
import DZSystem

/// A `proxy_update` task's arguments, every one checked before anything happens.
///
/// `project`, `bundle` (a bundle of the project), optional `sha256` (64 hex digits: the archive's; else the
/// stored manifest's), `hostnames` (at least one: an array of names or one comma-separated string),
/// `upstreams` (a non-empty array of `{"address", "port"}`), `static` (an array of `{"url", "path"}`, may be
/// empty or absent), optional `client_max_body_size` (`20m` by default) and optional `media_url` (`MEDIA_URL`,
/// served from the app's media directory when this host has it, see `NginxSite.media`).
///
/// The arguments of the last update that took effect are kept beside the site (`SiteFile.argumentsPath`), so
/// that a certificate change renders the same site again with TLS.
struct ProxyUpdateRequest: Sendable {
    let project: ProjectID
    let bundle: String
    let sha256: String?
    let hostnames: [Hostname]
    let upstreams: [UpstreamServer]
    let staticMappings: [StaticMapping]
    let clientMaxBodySize: BodySizeLimit
    let mediaURL: String?
    /// The arguments as given, to keep.
    let arguments: [String: JSONValue]

    init(_ context: TaskContext) throws(TaskFailure) {
        try self.init(arguments: context.args)
    }

    init(arguments args: [String: JSONValue]) throws(TaskFailure) {
        func string(_ key: String) throws(TaskFailure) -> String? {
            guard let value = args[key], value != .null else { return nil }
            guard case .string(let text) = value else {
                throw .badArgs("argument \"\(key)\" must be a string, not \(value.typeName)")
            }
            return text
        }
        guard let projectText = try string("project") else { throw .badArgs("missing argument \"project\"") }
        do { project = try ProjectID(projectText) } catch { throw .badArgs(error.message) }
        guard let bundleText = try string("bundle") else { throw .badArgs("missing argument \"bundle\"") }
        bundle = try BundleNames.bundle(bundleText, of: project)
        if let text = try string("sha256") {
            let lowered = text.lowercased()
            guard SHA256Digest.isHex(lowered) else { throw .badArgs("sha256 must be 64 hexadecimal digits") }
            sha256 = lowered
        } else {
            sha256 = nil
        }
        do {
            hostnames = try Hostname.list(args["hostnames"])
        } catch {
            throw .badArgs("argument \"hostnames\": \(error.message)")
        }
        guard !hostnames.isEmpty else { throw .badArgs("argument \"hostnames\": needs at least one host name") }
        do throws(ProxyError) {
            upstreams = try UpstreamServer.list(args["upstreams"])
            staticMappings = try StaticMapping.list(args["static"])
            clientMaxBodySize = try BodySizeLimit.argument(args["client_max_body_size"])
        } catch {
            throw error.taskFailure
        }
        let media = try string("media_url")
        do throws(ProxyError) {
            if let media { try StaticMapping.checkURL(media, field: "media_url") }
        } catch {
            throw error.taskFailure
        }
        mediaURL = media
        arguments = args
    }
}

extension ProxyUpdateRequest {
    /// The site these arguments make on a host with `settings`: with the certificates the host keeps for the
    /// project's names (served on the TLS port, their HTTP redirected) and ACME's webroot.
    func site(settings: ProxySettings) throws(ProxyError) -> NginxSite {
        var site = try NginxSite(project: project, bundle: bundle, hostnames: hostnames, upstreams: upstreams,
                                 staticMappings: staticMappings, clientMaxBodySize: clientMaxBodySize,
                                 settings: settings)
        site.certificates = CertificateStore(root: settings.certificatesDirectory)
            .certificates(of: project, for: hostnames)
        site.tlsPort = settings.tlsPort
        site.acmeWebroot = settings.acmeWebroot
        if let media = mediaDirectory(settings: settings) {
            site.media = try NginxSite.Media(url: media.url, directory: media.directory)
        }
        return site
    }

    /// `MEDIA_URL` and the project's media directory as this host sees it, when both are there: the appserver is
    /// this host, or the hosts share the media root at the same path. Otherwise nil, and the proxy passes
    /// `MEDIA_URL` to the app like any other path.
    func mediaDirectory(settings: ProxySettings) -> (url: String, directory: String)? {
        guard let mediaURL, let root = settings.mediaRoot else { return nil }
        let directory = root + "/" + project.rawValue
        guard (try? FileSystem.linkStatus(directory))?.isDirectory == true else { return nil }
        return (mediaURL, directory)
    }
}
