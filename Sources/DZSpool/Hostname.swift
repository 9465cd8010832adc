import DZSpool

/// A virtual host name an app answers to: `shop.example.com`, or a wildcard `*.example.com` (every name under
/// it, not the name itself). It becomes part of an nginx `server_name`, of Django's `ALLOWED_HOSTS` and of a
/// health check's `Host` header, so it is strict: lower-case letters, digits and hyphens in dot-separated labels
/// of 1 to 63 characters, no label starting or ending with a hyphen, at most 253 characters, and `*.` only as a
/// whole first label. Nothing else (no spaces, semicolons, braces, quotes or `$`) can reach a config file.
public struct Hostname: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let rawValue: String

    public init(_ text: String) throws(BadInput) {
        let lowered = text.lowercased()
        guard Hostname.isValid(lowered) else {
            throw BadInput("field", "invalid hostname \"\(String(text.prefix(80)))\": use names such as "
                + "shop.example.com or *.example.com (letters, digits, hyphens and dots)")
        }
        rawValue = lowered
    }

    public static func isValid(_ text: String) -> Bool {
        var name = Substring(text)
        if name.hasPrefix("*.") { name = name.dropFirst(2) }
        guard (1...253).contains(name.utf8.count) else { return false }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        return labels.allSatisfy { label in
            let bytes = Array(label.utf8)
            guard (1...63).contains(bytes.count), bytes.first != UInt8(ascii: "-"), bytes.last != UInt8(ascii: "-")
            else { return false }
            return bytes.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == UInt8(ascii: "-") }
        }
    }

    /// True for `*.example.com`.
    public var isWildcard: Bool { rawValue.hasPrefix("*.") }

    /// The name without its wildcard label: `example.com` for `*.example.com` and for `example.com`.
    public var base: Substring { isWildcard ? rawValue.dropFirst(2) : Substring(rawValue) }

    /// Whether a request's `Host` could be claimed by both names: the same name, a name under the other's wildcard
    /// (nginx's `*.example.com` matches `a.example.com` and `a.b.example.com`, never `example.com` itself), or two
    /// wildcards one of which is under the other. Two projects may never hold names that overlap: nginx prefers an
    /// exact name to a wildcard and a longer wildcard to a shorter one, so the later name would take the other's
    /// traffic.
    public func overlaps(_ other: Hostname) -> Bool {
        if self == other { return true }
        switch (isWildcard, other.isWildcard) {
        case (false, false): return false
        case (true, false): return other.rawValue.hasSuffix("." + base)
        case (false, true): return rawValue.hasSuffix("." + other.base)
        case (true, true): return base.hasSuffix("." + other.base) || other.base.hasSuffix("." + base)
        }
    }

    /// A concrete name this host name covers, for a `Host` header: the name itself, or `www.` under a wildcard.
    public var concreteName: String { isWildcard ? "www." + rawValue.dropFirst(2) : rawValue }

    /// The validated names of a task argument or job parameter: a JSON array of strings or one comma-separated
    /// string.
    public static func list(_ value: JSONValue?) throws(BadInput) -> [Hostname] {
        var texts: [String] = []
        switch value {
        case nil, .null?: return []
        case .string(let text)?:
            texts = text.split(separator: ",").map { String($0).trimmingSpaces }
        case .array(let items)?:
            for item in items {
                guard let text = item.stringValue else { throw BadInput("field", "hostnames must be strings") }
                texts.append(text)
            }
        default:
            throw BadInput("field", "hostnames must be a list of strings")
        }
        var seen = Set<Hostname>()
        var names: [Hostname] = []
        for text in texts where !text.isEmpty {
            let name = try Hostname(text)
            if seen.insert(name).inserted { names.append(name) }
        }
        return names
    }

    public var description: String { rawValue }
    public static func < (a: Hostname, b: Hostname) -> Bool { a.rawValue < b.rawValue }
}

private extension String {
    var trimmingSpaces: String {
        var text = Substring(self)
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return String(text)
    }
}
