#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DZSpool
import DZTasks

/// One app server a site proxies to: an IPv4 or IPv6 address, or a host name, and a port.
///
/// A task gives them as `{"address": "127.0.0.1", "port": 10001}`; IPv6 addresses with or without brackets.
public struct UpstreamServer: Sendable, Hashable, CustomStringConvertible {
    /// The address as written in an argument list: an address literal (IPv6 without brackets) or a host name.
    public let address: String
    /// 1 to 65535.
    public let port: Int
    private let isIPv6: Bool

    /// Checks the address (`inet_pton`, else `Hostname` without wildcard) and the port.
    public init(address: String, port: Int) throws(ProxyError) {
        guard (1...65535).contains(port) else {
            throw .invalid(field: "upstreams", "port \(port) is not from 1 to 65535")
        }
        self.port = port
        var text = address
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        if let family = Self.literalAddress(text) {
            self.address = text
            isIPv6 = family == AF_INET6
        } else if Hostname.isValid(text.lowercased()), !text.hasPrefix("*.") {
            self.address = text.lowercased()
            isIPv6 = false
        } else {
            throw .invalid(field: "upstreams", "\"\(NginxToken.printable(address))\" is neither an IP address nor a "
                + "host name")
        }
    }

    /// `address:port` as nginx's `server` directive takes it (`[::1]:8000` for IPv6).
    public var endpoint: String { (isIPv6 ? "[" + address + "]" : address) + ":" + String(port) }

    public var description: String { endpoint }

    /// The address family of an IPv4 or IPv6 literal (`AF_INET`, `AF_INET6`), or nil: `inet_pton` is the judge, so
    /// no zone index (`%eth0`), no spaces and nothing after the address.
    ///
    /// The corresponding C function is `inet_pton`.
    static func literalAddress(_ text: String) -> Int32? {
        guard !text.isEmpty, text.utf8.count <= 45 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 16)
        if inet_pton(AF_INET, text, &buffer) == 1 { return AF_INET }
        if inet_pton(AF_INET6, text, &buffer) == 1 { return AF_INET6 }
        return nil
    }

    /// An address literal as it goes before `:port`: IPv6 in brackets.
    static func bracketed(_ literal: String) -> String {
        literalAddress(literal) == AF_INET6 ? "[" + literal + "]" : literal
    }

    /// The servers of a `proxy_update` task, in order, repeated servers dropped.
    static func list(_ upstreams: [ProxyUpdateTask.Upstream]) throws(ProxyError) -> [UpstreamServer] {
        var servers: [UpstreamServer] = []
        for upstream in upstreams {
            let server = try UpstreamServer(address: upstream.address, port: upstream.port)
            if !servers.contains(server) { servers.append(server) }
        }
        return servers
    }
}
