import DZAgent
import DZBundle
import DZSpool
import DZSystem
import DZTasks

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
package struct ProxyUpdateRequest: Sendable {
    package let project: ProjectID
    package let bundle: String
    package let sha256: String?
    package let hostnames: [Hostname]
    package let upstreams: [UpstreamServer]
    package let staticMappings: [StaticMapping]
    let clientMaxBodySize: BodySizeLimit
    package let mediaURL: String?
    /// The arguments as given, to keep.
    package let arguments: [String: JSONValue]

    package init(arguments args: [String: JSONValue]) throws(TaskFailure) {
        let contract: ProxyUpdateTask.Arguments
        do { contract = try ProxyUpdateTask.Arguments(json: args) } catch { throw .badArgs(error.message) }
        project = contract.project
        bundle = try BundleNames.bundle(contract.bundle, of: project)
        sha256 = try StageStaticRequest.checksum(contract.sha256)
        hostnames = contract.hostnames
        do throws(ProxyError) {
            upstreams = try UpstreamServer.list(contract.upstreams)
            staticMappings = try StaticMapping.list(contract.staticFiles)
            clientMaxBodySize = try contract.clientMaxBodySize.map(BodySizeLimit.init) ?? .standard
            if let media = contract.mediaURL { try StaticMapping.checkURL(media, field: "media_url") }
        } catch {
            throw error.taskFailure
        }
        mediaURL = contract.mediaURL
        arguments = contract.json
    }
}

extension ProxyUpdateRequest {
    /// The site these arguments make on a host with `settings`: with the certificates the host keeps for the
    /// project's names (served on the TLS port, their HTTP redirected) and ACME's webroot.
    package func site(settings: ProxySettings) throws(ProxyError) -> NginxSite {
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
