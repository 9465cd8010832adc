/// A health check's redirect that leaves the site the proxy serves: to another scheme (the proxy serves the site
/// over HTTP only, so `https://` means every page would bounce to a server that is not there) or to another host
/// name. Such an answer is not health: the deploy would "succeed" with an unusable site. A redirect within the
/// site (a login page, a trailing slash) is healthy.
enum HealthRedirect {
    /// Why a redirect from `host` to `location` leaves the site, naming the setting that usually causes it; nil
    /// for a redirect within the site (a relative location, or `http://` to the same host name).
    static func problem(location: String, host: String) -> String? {
        let trimmed = location.trimmingCharacters(in: .whitespaces)
        guard let schemeEnd = trimmed.range(of: "://") else {
            // `//other.host/...` is a scheme-relative redirect to that host.
            guard trimmed.hasPrefix("//") else { return nil }
            return otherHost(String(trimmed.dropFirst(2)), host: host)
        }
        let scheme = trimmed[..<schemeEnd.lowerBound].lowercased()
        if scheme != "http" {
            return "the app redirects to \(scheme) and dz's proxy serves this site over HTTP only: turn off "
                + "SECURE_SSL_REDIRECT (or the middleware that forces HTTPS) in the settings module"
        }
        return otherHost(String(trimmed[schemeEnd.upperBound...]), host: host)
    }

    /// The message for a redirect to the host at the start of `rest` (`host[:port]/path`), when it is not `host`.
    private static func otherHost(_ rest: String, host: String) -> String? {
        var authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        let name = authority.hasPrefix("[") ? String(authority.prefix { $0 != "]" }) + "]"
            : String(authority.prefix { $0 != ":" })
        guard !name.isEmpty, name.lowercased() != host.lowercased() else { return nil }
        return "the app redirects to another host, \(name.prefix(100)): add that name to the project "
            + "(dz hostnames add) or turn off the redirect (PREPEND_WWW, ALLOWED_HOSTS handling or the app's own)"
    }
}
