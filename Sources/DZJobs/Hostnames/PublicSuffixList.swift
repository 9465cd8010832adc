import DZSpool
import DZSystem

/// The public suffix list (publicsuffix.org): the names under which anyone may register a domain (`com`,
/// `co.uk`, `github.io`). A project may not have such a name, nor a wildcard over one (`*.com`): it would take
/// the traffic of every site under it that another project adds later, or that nobody on this platform owns.
///
/// dz reads the list Debian's `publicsuffix` package installs (`debianPath`) unless told another file
/// (`dz coordinator --public-suffix-list`, `$DZ_PUBLIC_SUFFIX_LIST`); it never downloads one. Both sections are
/// used (ICANN's and the private domains such as `github.io`). Internationalised suffixes are kept in their ASCII
/// form, as host names reach dz. Without a list only the list's default rule applies: every single label is a
/// suffix.
public struct PublicSuffixList: Sendable {
    /// Where Debian's `publicsuffix` package puts the list.
    public static let debianPath = "/usr/share/publicsuffix/public_suffix_list.dat"

    /// Rules as written (`co.uk`), wildcard rules by the name under their `*` (`ck` for `*.ck`), and exception
    /// rules without their `!` (`www.ck`).
    private let rules: Set<String>
    private let wildcards: Set<String>
    private let exceptions: Set<String>
    /// Every name with a public suffix strictly under it (`amazonaws.com` for `s3.amazonaws.com`, `kawasaki.jp`
    /// for `*.kawasaki.jp`): a wildcard over such a name covers other people's domains.
    private let parents: Set<String>

    /// How many rules the list has.
    public var count: Int { rules.count + wildcards.count + exceptions.count }

    /// A list of the given lines in the list's format: one rule per line, `//` comments, blank lines ignored.
    public init(lines: some Sequence<Substring>) {
        var rules = Set<String>(), wildcards = Set<String>(), exceptions = Set<String>()
        for line in lines {
            // A rule is the line's first word; the rest (and a comment line) is ignored, as the format says.
            guard let word = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).first,
                  !word.hasPrefix("//") else { continue }
            var text = word.lowercased()[...]
            let exception = text.hasPrefix("!")
            if exception { text = text.dropFirst() }
            let wildcard = text.hasPrefix("*.")
            if wildcard { text = text.dropFirst(2) }
            let labels = text.split(separator: ".", omittingEmptySubsequences: false).map(Punycode.label)
            guard !labels.isEmpty, labels.allSatisfy({ $0?.isEmpty == false }) else { continue }
            let rule = labels.compactMap { $0 }.joined(separator: ".")
            if exception { exceptions.insert(rule) } else if wildcard { wildcards.insert(rule) } else { rules.insert(rule) }
        }
        var parents = Set<String>()
        for rule in rules.union(wildcards) {
            var name = Substring(rule)
            while let dot = name.firstIndex(of: ".") {
                name = name[name.index(after: dot)...]
                parents.insert(String(name))
            }
        }
        parents.formUnion(wildcards)
        self.rules = rules
        self.wildcards = wildcards
        self.exceptions = exceptions
        self.parents = parents
    }

    /// No rules but the default one (every single label is a suffix).
    public static let defaultRuleOnly = PublicSuffixList(lines: [Substring]())

    /// Reads the list at `path`. A file that cannot be read, or that does not look like the list (no rule for
    /// `com`), is an error that says how to get one: a truncated or wrong file must not turn the check off.
    public init(contentsOf path: String) throws(BadInput) {
        let bytes: [UInt8]
        do { bytes = try FileIO.readAll(path) } catch {
            throw BadInput("public-suffix-list", "cannot read the public suffix list \(path): \(error). Install "
                           + "Debian's publicsuffix package (apt-get install publicsuffix), or give another copy "
                           + "with --public-suffix-list FILE or $DZ_PUBLIC_SUFFIX_LIST")
        }
        self.init(lines: String(decoding: bytes, as: UTF8.self).split(separator: "\n"))
        guard rules.contains("com") else {
            throw BadInput("public-suffix-list", "\(path) does not look like the public suffix list (no rule for "
                           + "com): give the real list (Debian's publicsuffix package installs it at "
                           + "\(PublicSuffixList.debianPath))")
        }
    }

    /// The list to read: the explicit path, else `$DZ_PUBLIC_SUFFIX_LIST`, else Debian's.
    public static func path(explicit: String?, environment: [String: String]) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let path = environment["DZ_PUBLIC_SUFFIX_LIST"], !path.isEmpty { return path }
        return debianPath
    }

    /// Whether some public suffix is strictly under `name` (`amazonaws.com`, under which `s3.amazonaws.com` is
    /// one): a wildcard over `name` would cover the domains registered under it.
    public func hasPublicSuffixes(under name: Substring) -> Bool {
        parents.contains(String(name))
    }

    /// Whether `name` (lower case, ASCII, no wildcard) is itself a public suffix: a rule names it, a wildcard rule
    /// covers it and no exception takes it out, or it is a single label (the list's default rule, `*`).
    public func isPublicSuffix(_ name: Substring) -> Bool {
        let key = String(name)
        if exceptions.contains(key) { return false }
        if rules.contains(key) { return true }
        guard let dot = name.firstIndex(of: ".") else { return true }
        return wildcards.contains(String(name[name.index(after: dot)...]))
    }
}
