import DZSpool

/// nginx's `client_max_body_size`: digits with an optional `k`, `m` or `g` (`20m`, the default; `0` is no limit).
public struct BodySizeLimit: Sendable, Hashable, CustomStringConvertible {
    /// The value as written into the site, lower-case.
    public let text: String

    /// The default: 20 MiB.
    public static let standard = BodySizeLimit(checked: "20m")

    /// Checks `text`; `K`, `M` and `G` are taken as their lower case.
    public init(_ text: String) throws(ProxyError) {
        let lowered = text.lowercased()
        var digits = Substring(lowered)
        if let last = digits.last, "kmg".contains(last) { digits = digits.dropLast() }
        guard (1...12).contains(digits.utf8.count),
              digits.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else {
            throw .invalid(field: "client_max_body_size", "\"\(NginxToken.printable(text))\" is not a size such as "
                + "20m: digits and an optional k, m or g")
        }
        self.text = lowered
    }

    private init(checked: String) { text = checked }

    public var description: String { text }
}
