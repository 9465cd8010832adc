import DZSpool

/// A certificate a site serves for one of its host names over TLS: the files `CertificateStore` keeps for it.
/// The paths are checked as `NginxToken` paths, so that they go into the site file as plain tokens.
public struct SiteCertificate: Sendable, Equatable {
    public let hostname: Hostname
    /// The PEM certificate (with its chain), nginx's `ssl_certificate`.
    public let certificatePath: String
    /// The PEM private key, nginx's `ssl_certificate_key`.
    public let keyPath: String

    public init(hostname: Hostname, certificatePath: String, keyPath: String) throws(ProxyError) {
        for path in [certificatePath, keyPath] where !NginxToken.isSafePath(path) || !path.hasPrefix("/") {
            throw .badSettings("the certificate file \"\(NginxToken.printable(path))\" must be an absolute path of "
                + "letters, digits and /._~+@:,=-")
        }
        guard !hostname.isWildcard else {
            throw .invalid(field: "hostname", "certificates are kept per host name, not for a wildcard")
        }
        self.hostname = hostname
        self.certificatePath = certificatePath
        self.keyPath = keyPath
    }
}
