/// The Python a project asks for (zoombuild.cfg's `python_version`), in any of the forms projects write it: a
/// version from `.python-version` or `runtime.txt` (`3.12`, `3.12.1`, `python-3.12.1`), a PEP 440 specifier from
/// `requires-python` (`>=3.10, <3.13`, `~=3.11`, `==3.12.*`, `!=3.11.*`), or a Poetry constraint (`^3.12`,
/// `~3.12`, `>=3.10 <3.13`, `3.11 || 3.12`, `*`).
///
/// dz provides interpreters by minor version (`python3.12`) and a host has at most one of each, so a requirement
/// is judged per minor version: a minor version fits when some release of it (`3.12.0`, `3.12.1`, ...) satisfies
/// the requirement. A bare version names its minor version (`3.12.1` asks for 3.12), as buildpacks read
/// `.python-version` to pick an interpreter.
public struct PythonRequirement: Sendable, Equatable, CustomStringConvertible {
    /// One comparison of a version with `version` (a prefix match for `==`/`!=` with a trailing `.*`).
    struct Clause: Sendable, Equatable {
        enum Operator: String, Sendable { case ge = ">=", gt = ">", le = "<=", lt = "<", eq = "==", ne = "!=" }
        var op: Operator
        var version: [Int]
        var wildcard = false
    }

    /// The text as written.
    public let text: String
    /// Alternatives (Poetry's `||`), each a conjunction of clauses.
    let alternatives: [[Clause]]

    public var description: String { text }

    /// Reads `text`; nil when it is not a form above (or longer than 64 characters).
    public init?(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.utf8.count <= 64 else { return nil }
        var alternatives: [[Clause]] = []
        for alternative in trimmed.components(separatedBy: "||") {
            var clauses: [Clause] = []
            let words = alternative.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" }).map(String.init)
            guard !words.isEmpty else { return nil }
            var index = 0
            while index < words.count {
                var word = words[index]
                // `>= 3.10` written with a space: join the operator to its version.
                if word.allSatisfy({ "<>=!~^".contains($0) }), index + 1 < words.count {
                    word += words[index + 1]
                    index += 1
                }
                guard let parsed = Self.clauses(word) else { return nil }
                clauses += parsed
                index += 1
            }
            alternatives.append(clauses)
        }
        self.text = trimmed
        self.alternatives = alternatives
    }

    /// Whether some release of Python `major.minor` satisfies the requirement.
    public func allows(major: Int, minor: Int) -> Bool {
        alternatives.contains { clauses in clauses.allSatisfy { Self.allows($0, major, minor) } }
    }

    /// The newest of `versions` (`"3.11"`, `"3.12"`: major.minor) that the requirement allows.
    public func newest(of versions: [String]) -> String? {
        versions.compactMap { version -> (Int, Int, String)? in
            let parts = version.split(separator: ".").compactMap { Int($0) }
            guard parts.count >= 2, allows(major: parts[0], minor: parts[1]) else { return nil }
            return (parts[0], parts[1], version)
        }
        .max { ($0.0, $0.1) < ($1.0, $1.1) }?.2
    }

    /// One word of a requirement as clauses: `3.12`, `python-3.12`, `>=3.10`, `~=3.11`, `^3.12`, `~3.12`, `*`.
    private static func clauses(_ word: String) -> [Clause]? {
        var rest = Substring(word)
        if rest.hasPrefix("python-") { rest = rest.dropFirst("python-".count) }
        if rest == "*" { return [] }
        for (prefix, op) in [(">=", Clause.Operator.ge), ("<=", .le), ("==", .eq), ("!=", .ne), (">", .gt),
                             ("<", .lt), ("=", .eq)] where rest.hasPrefix(prefix) {
            guard let (version, wildcard) = parse(rest.dropFirst(prefix.count)) else { return nil }
            if wildcard && op != .eq && op != .ne { return nil }
            return [Clause(op: op, version: version, wildcard: wildcard)]
        }
        if rest.hasPrefix("~=") {
            // PEP 440: `~=3.11` is `>=3.11, ==3.*`; `~=3.11.2` is `>=3.11.2, ==3.11.*`.
            guard let (version, wildcard) = parse(rest.dropFirst(2)), !wildcard, version.count >= 2 else { return nil }
            return [Clause(op: .ge, version: version), Clause(op: .eq, version: Array(version.dropLast()), wildcard: true)]
        }
        if rest.hasPrefix("^") {
            // Poetry: `^3.12` is `>=3.12, <4`; `^0.3` is `>=0.3, <0.4`.
            guard let (version, wildcard) = parse(rest.dropFirst()), !wildcard else { return nil }
            let first = version.firstIndex { $0 != 0 } ?? version.count - 1
            var upper = Array(version.prefix(first + 1))
            upper[upper.count - 1] += 1
            return [Clause(op: .ge, version: version), Clause(op: .lt, version: upper)]
        }
        if rest.hasPrefix("~") {
            // Poetry: `~3.12` and `~3.12.1` are `>=3.12(.1), <3.13`; `~3` is `>=3, <4`.
            guard let (version, wildcard) = parse(rest.dropFirst()), !wildcard else { return nil }
            var upper = Array(version.prefix(2))
            upper[upper.count - 1] += 1
            return [Clause(op: .ge, version: version), Clause(op: .lt, version: upper)]
        }
        // A bare version: its minor version (`3.12.1` and `3.12` ask for 3.12, `3` for any 3.x).
        guard let (version, _) = parse(rest) else { return nil }
        return [Clause(op: .eq, version: Array(version.prefix(2)), wildcard: true)]
    }

    /// `3.12.1` as `[3, 12, 1]`; `3.12.*` as `([3, 12], true)`. Pre-release and local parts are not accepted.
    private static func parse(_ text: Substring) -> ([Int], Bool)? {
        var parts = text.split(separator: ".", omittingEmptySubsequences: false)
        var wildcard = false
        if parts.last == "*" {
            wildcard = true
            parts.removeLast()
        }
        guard (1...4).contains(parts.count) else { return nil }
        var numbers: [Int] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 4, part.allSatisfy(\.isASCII), let number = Int(part) else { return nil }
            numbers.append(number)
        }
        return (numbers, wildcard)
    }

    /// Whether some `major.minor.patch` satisfies `clause`.
    private static func allows(_ clause: Clause, _ major: Int, _ minor: Int) -> Bool {
        let low = [major, minor, 0]
        func compare(_ a: [Int], _ b: [Int]) -> Int {
            for index in 0..<max(a.count, b.count) {
                let x = index < a.count ? a[index] : 0, y = index < b.count ? b[index] : 0
                if x != y { return x < y ? -1 : 1 }
            }
            return 0
        }
        let wanted = clause.version
        let prefixMatches = zip([major, minor], wanted).allSatisfy { $0 == $1 }
        switch clause.op {
        // The minor version's releases reach past any patch: `>=3.12.4` and `>3.12` are met by a later 3.12.
        case .ge, .gt: return compare([major, minor], Array(wanted.prefix(2))) >= 0
        case .le: return compare(low, wanted) <= 0
        case .lt: return compare(low, wanted) < 0
        case .eq:
            if clause.wildcard { return prefixMatches }
            return compare([major, minor], Array(wanted.prefix(2))) == 0
        case .ne:
            // Only a wildcard can exclude a whole minor version (or a major one: `!=2.*`).
            return !(clause.wildcard && wanted.count <= 2 && prefixMatches)
        }
    }
}
