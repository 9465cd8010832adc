import DZSpool

/// Which host names a project may have at all, whoever else holds what (that is `ZoomDB.claimHostnames`):
/// - a valid name (`Hostname`), which also keeps out IPv6 literals (`[::1]`, `::1`: no colons or brackets);
/// - not an IPv4 literal: a name whose last label is a number (`127.0.0.1`, `10.1`, `0x7f.1`, `2130706433`) is an
///   address to browsers and resolvers (the WHATWG URL standard's "ends in a number"), and no real top-level
///   domain is numeric;
/// - not `localhost`, `*.localhost` or another name of the machine itself (`localhost.localdomain`, ...): a
///   client on the proxy's host (another app, the operator's scripts) reaching "localhost" must not get an app.
///   Names under `.localhost` reach only the local machine (RFC 6761): the project's own development name
///   `<project>.localhost` (its id with `_` made `-`, the default when a deploy gives none) and names under it
///   are its own, and every other `.localhost` name is refused, so that no project takes another's;
/// - not a public suffix, nor a wildcard over one (`com`, `*.com`, `co.uk`, `*.github.io`; see
///   `PublicSuffixList`), nor a wildcard over a name with public suffixes under it (`*.amazonaws.com` covers
///   every bucket under `s3.amazonaws.com`; nginx's wildcards match names of any depth).
public struct HostnamePolicy: Sendable {
    public let suffixes: PublicSuffixList

    /// Names of the machine itself besides `localhost`, from Debian's and Red Hat's /etc/hosts.
    static let loopbackNames: Set<String> = ["localhost.localdomain", "localhost4", "localhost4.localdomain4",
                                             "localhost6", "localhost6.localdomain6", "ip6-localhost",
                                             "ip6-loopback"]

    /// The policy with `suffixes`; the default knows only the list's default rule (single labels), which is
    /// what the library's tests use: `dz coordinator` always reads the real list.
    public init(suffixes: PublicSuffixList = .defaultRuleOnly) {
        self.suffixes = suffixes
    }

    /// `text` as a host name `project` may have (lower case), or why not.
    public func check(_ text: String, project: String) throws(BadInput) -> Hostname {
        if text.contains(":") || text.contains("[") || text.contains("]") {
            throw refusal(text, "an IPv6 address: give the app a host name")
        }
        let name = try Hostname(text)
        let base = name.base
        let last = base.split(separator: ".").last ?? base
        if last.allSatisfy(\.isNumber) || (last.hasPrefix("0x") && last.dropFirst(2).allSatisfy(\.isHexDigit)) {
            throw refusal(text, "an IP address (its last label is a number): give the app a host name")
        }
        if base == "localhost" {
            throw refusal(text, "localhost is the machine itself: requests that local clients send to it would "
                          + "reach this app")
        }
        if HostnamePolicy.loopbackNames.contains(String(base)) {
            throw refusal(text, "\(base) is a name of the machine itself")
        }
        if base.hasSuffix(".localhost") {
            let own = HostnamePolicy.developmentName(of: project)
            guard base == own || base.hasSuffix("." + own) else {
                throw refusal(text, "names under .localhost belong to the project they name: \(project) may use "
                              + "\(own) and names under it")
            }
            return name
        }
        if name.isWildcard, !suffixes.isPublicSuffix(base), suffixes.hasPublicSuffixes(under: base) {
            throw refusal(text, "a wildcard over \(base), under which there are public suffixes (domains anyone "
                          + "registers): name the hosts instead")
        }
        if suffixes.isPublicSuffix(base) {
            throw refusal(text, name.isWildcard
                ? "a wildcard over the public suffix \(base), under which anyone registers domains"
                : "a public suffix (like com or co.uk), under which anyone registers domains: give a domain "
                  + "under it")
        }
        return name
    }

    /// Every name of a list, checked, in order.
    public func check(_ texts: [String], project: String) throws(BadInput) -> [Hostname] {
        var names: [Hostname] = []
        for text in texts { names.append(try check(text, project: project)) }
        return names
    }

    /// The project's own name under `.localhost`: its id with `_` made `-` (project ids have no `-`, so no two
    /// projects share one). The default host name of a deploy that gives none.
    public static func developmentName(of project: String) -> String {
        String(project.map { $0 == "_" ? "-" : $0 }) + ".localhost"
    }

    private func refusal(_ text: String, _ reason: String) -> BadInput {
        BadInput("hostname", "host name \(String(text.prefix(80))) is refused: \(reason)")
    }
}
