/// Why a zoombuild.cfg (or a value for one) cannot be accepted, each with a message for the person reading it.
///
/// Line numbers count from 1. Line 0 means the value did not come from a file: a config guess, or a value set in
/// code and checked with ``ZoombuildConfig/validate()``.
public enum ZoombuildConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A key or value before the first `[section]` header.
    case lineOutsideSection(line: Int)
    /// A line that is neither a comment, a `[section]` header, `key = value`, `key: value` nor an indented
    /// continuation line; or a key name outside `[A-Za-z0-9_.-]`.
    case malformedLine(line: Int, text: String)
    /// An indented line directly after a section header: there is no key for it to continue.
    case continuationWithoutKey(line: Int)
    /// No `[project]` section in the file.
    case missingProjectSection
    /// The same section twice.
    case duplicateSection(line: Int, name: String, firstLine: Int)
    /// The same key twice in `[project]`.
    case duplicateKey(line: Int, key: String, firstLine: Int)
    /// A continuation line (a second value) for a key that takes one value.
    case multipleValues(line: Int, key: String)
    /// A `site_media_map` line that is not exactly `<url> <path>`.
    case malformedSiteMediaEntry(line: Int, text: String)
    /// `num_workers` that is not a whole number.
    case notAnInteger(line: Int, key: String, value: String)
    /// A value of the right shape but not allowed: a bad host name, module name, path, database type...
    case invalidValue(line: Int, key: String, value: String, expected: Expectation)

    /// What a value must look like, for ``invalidValue(line:key:value:expected:)``.
    public enum Expectation: Equatable, Sendable, CustomStringConvertible {
        /// A dotted Python module name: `mysite.settings`.
        case moduleName
        /// A module name with an optional `:attribute` (gunicorn style): `mysite.wsgi` or `mysite.wsgi:application`.
        case wsgiModule
        /// A relative path without `..`, of `[A-Za-z0-9._+@,=~-]` and `/`, no part starting with `-`.
        case relativePath
        /// A site media path: a relative path, optionally under `{SITE_PACKAGES}/`.
        case siteMediaPath
        /// A URL path of `[A-Za-z0-9._~-]` and `/`, without `..`.
        case urlPath
        /// A version or version specifier: `4.2`, `>=4.2,<5`, `python-3.12.1`.
        case version
        /// A Python version or constraint (`PythonRequirement`): `3.12`, `>=3.10, <3.13`, `^3.12`.
        case pythonVersion
        /// A short word: `pip`, `poetry`, `uv`.
        case word
        /// A pip requirement, starting with a letter or digit (no pip options such as `-r` or `--index-url`).
        case requirement
        /// One of ``ZoombuildConfig/DatabaseType``.
        case databaseType
        /// A whole number within ``ZoombuildConfig/numWorkersRange``.
        case workerCount
        /// A DNS host name or a `*.domain` wildcard (it becomes an nginx `server_name`).
        case hostname
        /// A source URL or path: no spaces, quotes or control characters, not starting with `-`, no `ext::` style
        /// transports.
        case sourceURL
        /// One line of text without control characters.
        case singleLine

        public var description: String {
            switch self {
            case .moduleName: "a dotted Python module name such as mysite.settings"
            case .wsgiModule: "a Python module name with an optional :attribute, such as mysite.wsgi:application"
            case .relativePath:
                "a relative path of [A-Za-z0-9._+@,=~-] and /, without .. and without a part starting with -"
            case .siteMediaPath: "a relative path, optionally starting with {SITE_PACKAGES}/"
            case .urlPath: "a URL path of [A-Za-z0-9._~-] and /, without .."
            case .version: "a version such as 4.2 or a specifier such as >=4.2,<5"
            case .pythonVersion: "a Python version such as 3.12 or a constraint such as >=3.10,<3.13 or ^3.12"
            case .word: "a word of [A-Za-z0-9._-] such as pip, poetry or uv"
            case .requirement: "a pip requirement starting with a letter or digit (pip options are not allowed)"
            case .databaseType:
                "one of " + ZoombuildConfig.DatabaseType.allCases.map(\.rawValue).joined(separator: ", ")
            case .workerCount:
                "a whole number from \(ZoombuildConfig.numWorkersRange.lowerBound) to "
                    + "\(ZoombuildConfig.numWorkersRange.upperBound)"
            case .hostname: "a DNS host name such as www.example.com or a wildcard such as *.example.com"
            case .sourceURL: "a URL or path without spaces, quotes or control characters, not starting with -"
            case .singleLine: "one line of text without control characters"
            }
        }
    }

    /// The line the error is about; nil when there is none (a missing section) or the value came from code.
    public var line: Int? {
        let number: Int
        switch self {
        case .missingProjectSection: return nil
        case .lineOutsideSection(let line), .malformedLine(let line, _), .continuationWithoutKey(let line),
             .duplicateSection(let line, _, _), .duplicateKey(let line, _, _), .multipleValues(let line, _),
             .malformedSiteMediaEntry(let line, _), .notAnInteger(let line, _, _),
             .invalidValue(let line, _, _, _):
            number = line
        }
        return number > 0 ? number : nil
    }

    public var description: String {
        let place = line.map { "zoombuild.cfg line \($0): " } ?? "zoombuild.cfg: "
        switch self {
        case .lineOutsideSection:
            return place + "a setting before any section; put settings under [project]"
        case .malformedLine(_, let text):
            return place + "cannot read \(shown(text)): expected `key = value`, `[section]` or an indented continuation"
        case .continuationWithoutKey:
            return place + "an indented line with no key before it to continue"
        case .missingProjectSection:
            return place + "no [project] section"
        case .duplicateSection(_, let name, let firstLine):
            return place + "section [\(shown(name, quotes: false))] again (first on line \(firstLine))"
        case .duplicateKey(_, let key, let firstLine):
            return place + "\(key) set again (first on line \(firstLine))"
        case .multipleValues(_, let key):
            return place + "\(key) takes one value, not several lines"
        case .malformedSiteMediaEntry(_, let text):
            return place + "site_media_map line \(shown(text)) is not `<url> <path>`"
        case .notAnInteger(_, let key, let value):
            return place + "\(key) \(shown(value)) is not a whole number"
        case .invalidValue(_, let key, let value, let expected):
            return place + "\(key) \(shown(value)) is not allowed: expected \(expected)"
        }
    }
}

/// A value as it may be shown on a terminal: at most 200 characters, control characters escaped.
private func shown(_ text: String, quotes: Bool = true) -> String {
    var out = ""
    for scalar in text.unicodeScalars.prefix(200) {
        switch scalar {
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        case "\"" where quotes: out += "\\\""
        default:
            let category = scalar.properties.generalCategory
            if category == .control || category == .format || category == .lineSeparator
                || category == .paragraphSeparator {
                out += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    if text.unicodeScalars.count > 200 { out += "..." }
    return quotes ? "\"" + out + "\"" : out
}

extension ZoombuildConfigError.Expectation {
    /// True when `value` is allowed. Every value must be non-empty, without surrounding white space, on one line.
    func accepts(_ value: String) -> Bool {
        guard let first = value.first, let last = value.last, !first.isWhitespace, !last.isWhitespace,
              value.unicodeScalars.allSatisfy({ !Self.isControl($0) }) else { return false }
        switch self {
        case .moduleName: return Self.isModuleName(Substring(value))
        case .wsgiModule:
            let parts = value.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            return Self.isModuleName(parts[0]) && (parts.count == 1 || Self.isIdentifier(parts[1]))
        case .relativePath: return Self.isRelativePath(Substring(value))
        case .siteMediaPath:
            let prefix = "{SITE_PACKAGES}"
            guard value.hasPrefix(prefix) else { return Self.isRelativePath(Substring(value)) }
            let rest = value.dropFirst(prefix.count)
            return rest.isEmpty || (rest.hasPrefix("/") && (rest.count == 1 || Self.isRelativePath(rest.dropFirst())))
        case .urlPath:
            return value.utf8.count <= 1024 && Self.only(value, "._~-/")
                && !value.split(separator: "/").contains("..")
        case .version: return value.utf8.count <= 64 && Self.only(value, ".*<>=!~,+-")
        case .pythonVersion: return PythonRequirement(value) != nil
        case .word: return value.utf8.count <= 64 && Self.only(value, "._-") && Self.startsAlphanumeric(value)
        // Not starting with `-`: pip options (`-r /etc/...`, `--index-url`) are not requirements.
        case .requirement: return value.utf8.count <= 1024 && Self.startsAlphanumeric(value)
        case .databaseType: return ZoombuildConfig.DatabaseType(rawValue: value) != nil
        case .workerCount: return Int(value).map(ZoombuildConfig.numWorkersRange.contains) ?? false
        case .hostname: return Self.isHostname(value)
        case .sourceURL:
            // A leading `-` would be a git option; `ext::` and `fd::` are git transports that run commands.
            let scalars = value.unicodeScalars
            let scheme = scalars.prefix { Self.isAlphanumeric($0) || "+.-".unicodeScalars.contains($0) }
            return value.utf8.count <= 2048 && first != "-"
                && !scalars[scheme.endIndex...].starts(with: "::".unicodeScalars)
                && scalars.allSatisfy { $0.isASCII && $0.value > 32 && !"\"'`<>\\".unicodeScalars.contains($0) }
        case .singleLine: return value.utf8.count <= 4096
        }
    }

    private static func startsAlphanumeric(_ value: String) -> Bool {
        value.unicodeScalars.first.map(isAlphanumeric) ?? false
    }

    static func isAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
    }

    /// Control characters, line and paragraph separators: what could end a line or hide text on a terminal.
    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator: true
        default: false
        }
    }

    /// True when `value` is ASCII letters, digits and `extra` only.
    private static func only(_ value: some StringProtocol, _ extra: String) -> Bool {
        value.unicodeScalars.allSatisfy { isAlphanumeric($0) || extra.unicodeScalars.contains($0) }
    }

    private static func isIdentifier(_ name: Substring) -> Bool {
        guard let first = name.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
        return only(name, "_")
    }

    private static func isModuleName(_ name: Substring) -> Bool {
        name.utf8.count <= 255 && name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy(isIdentifier)
    }

    private static func isRelativePath(_ path: Substring) -> Bool {
        guard path.utf8.count <= 1024, !path.hasPrefix("/"), only(path, "._+@,=~-/") else { return false }
        return path.split(separator: "/").allSatisfy { $0 != ".." && !$0.hasPrefix("-") }
    }

    /// A DNS name of labels `[A-Za-z0-9-]` (not starting or ending with `-`, 1 to 63 characters, 253 in all), or
    /// `*.` and a name of at least two labels.
    private static func isHostname(_ value: String) -> Bool {
        let isWildcard = value.hasPrefix("*.")
        let name = isWildcard ? value.dropFirst(2) : Substring(value)
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        guard name.utf8.count <= 253, !isWildcard || labels.count >= 2 else { return false }
        return labels.allSatisfy { label in
            (1...63).contains(label.utf8.count) && only(label, "-") && label.first != "-" && label.last != "-"
        }
    }
}
