/// A project's build configuration: the `[project]` section of the original DjangoZoom `zoombuild.cfg`, with dz's
/// new keys.
///
/// The format is what Python's ConfigParser reads: `key = value` or `key: value`; a multi-valued key has its first
/// item on the key line or none, and further items on indented continuation lines; lines starting with `#` or `;`
/// (after any indentation) are comments; blank lines are skipped; keys are case-insensitive; values are trimmed.
/// There are no inline comments (a `;` inside a value is part of it, as in PEP 508 markers).
///
/// Every value is checked when read, because values later become nginx `server_name`s and aliases, paths in the
/// bundle, module names for gunicorn and arguments to pip and git. Unknown keys in `[project]` are kept (and
/// written back) with a warning, so that a file from a newer dz still loads; other sections are skipped with a
/// warning.
public struct ZoombuildConfig: Equatable, Sendable {
    /// One line of `site_media_map`: the URL prefix and the directory served under it.
    public struct SiteMediaEntry: Equatable, Hashable, Sendable {
        /// A URL path, `static` or `/static/`.
        public var url: String
        /// A relative path in the project, or under `{SITE_PACKAGES}/`.
        public var path: String

        public init(url: String, path: String) {
            self.url = url
            self.path = path
        }
    }

    /// The database a project needs. The first two are the original's names, kept so that old files load.
    public enum DatabaseType: String, CaseIterable, Sendable {
        case postgresql84 = "postgresql-8.4"
        case postgresqlGIS = "postgresql-gis"
        case postgresql
        case postgis
        case sqlite
        case mysql

        /// True when the database needs the PostGIS extension.
        public var requiresPostGIS: Bool { self == .postgresqlGIS || self == .postgis }
    }

    /// A key in `[project]` that this dz does not know, kept as read.
    public struct UnknownKey: Equatable, Sendable {
        public var name: String
        public var values: [String]

        public init(name: String, values: [String]) {
            self.name = name
            self.values = values
        }
    }

    /// Something in a file that was accepted but is worth telling the user.
    public enum Warning: Equatable, Sendable, CustomStringConvertible {
        case unknownKey(line: Int, key: String)
        case ignoredSection(line: Int, name: String)

        public var description: String {
            switch self {
            case .unknownKey(let line, let key): "zoombuild.cfg line \(line): unknown key \(key), kept as it is"
            case .ignoredSection(let line, let name): "zoombuild.cfg line \(line): section [\(name)] ignored"
            }
        }
    }

    /// A config guess left out of ``init(guesses:rejected:)`` because its value is not allowed.
    public struct RejectedGuess: Equatable, Sendable {
        public var guess: ConfigGuess
        public var error: ZoombuildConfigError
    }

    /// The keys of `[project]`, in the order ``rendered()`` writes them: the original's first, then dz's.
    public enum Key: String, CaseIterable, Sendable {
        case sourceCodeURL = "source_code_url"
        case title
        case djangoVersion = "django_version"
        case databaseType = "database_type"
        case basePythonPackage = "base_python_package"
        case djangoSettingsModule = "django_settings_module"
        case siteMediaMap = "site_media_map"
        case additionalPythonPathDirs = "additional_python_path_dirs"
        case requirementsFiles = "requirements_files"
        case extraRequirements = "extra_requirements"
        case pythonVersion = "python_version"
        case packageManager = "package_manager"
        case wsgiModule = "wsgi_module"
        case managePy = "manage_py"
        case procfileWeb = "procfile_web"
        case procfileRelease = "procfile_release"
        case numWorkers = "num_workers"
        case hostnames

        /// True for keys that hold one item per line.
        public var isList: Bool {
            switch self {
            case .siteMediaMap, .additionalPythonPathDirs, .requirementsFiles, .extraRequirements, .hostnames: true
            default: false
            }
        }
    }

    /// The allowed `num_workers`.
    public static let numWorkersRange = 1...100

    public var sourceCodeURL: String?
    public var title: String?
    public var djangoVersion: String?
    public var databaseType: DatabaseType?
    public var basePythonPackage: String?
    public var djangoSettingsModule: String?
    public var siteMediaMap: [SiteMediaEntry] = []
    public var additionalPythonPathDirs: [String] = []
    public var requirementsFiles: [String] = []
    public var extraRequirements: [String] = []
    public var pythonVersion: String?
    /// The one package manager used to install requirements: `pip`, `poetry`, `uv`, `pipenv`...
    public var packageManager: String?
    /// The WSGI application, `mysite.wsgi` or `mysite.wsgi:application`.
    public var wsgiModule: String?
    /// Where `manage.py` is, relative to the repository root.
    public var managePy: String?
    public var procfileWeb: String?
    /// The release command run after each deploy's migration, through `/bin/sh -c`: nil (the key absent) runs the
    /// Procfile's `release:` line, if any; an empty value (`procfile_release =`) runs none; any other value runs
    /// instead of the Procfile's.
    public var procfileRelease: String?
    public var numWorkers: Int?
    /// Host names served, each a DNS name or a `*.domain` wildcard.
    public var hostnames: [String] = []
    /// Keys this dz does not know, in the order read; written after the known keys.
    public var unknownKeys: [UnknownKey] = []

    /// An empty configuration.
    public init() {}

    /// The configuration the inspector proposes, from the primary guess of each field.
    ///
    /// The rule: a single-valued key takes the first primary guess with an allowed value. A list key takes the
    /// items of every primary guess, in order, without repeats; `additional_python_path_dirs` takes every guess,
    /// primary or not, because the inspector makes one guess per directory. `requirements_files` takes the primary
    /// guess only: the others (a development file's linters) stay out of the production bundle, listed as
    /// comments in the proposal (`proposalNotes`). A guess value of several lines gives one item per line. Guesses for fields that are not keys are
    /// ignored; guesses with values that are not allowed are left out (see ``init(guesses:rejected:)``).
    public init(guesses: [ConfigGuess]) {
        var rejected: [RejectedGuess] = []
        self.init(guesses: guesses, rejected: &rejected)
    }

    /// As ``init(guesses:)``, appending to `rejected` each guess left out and why, in ``Key`` order.
    public init(guesses: [ConfigGuess], rejected: inout [RejectedGuess]) {
        self.init()
        for key in Key.allCases {
            let takesEveryGuess = key == .additionalPythonPathDirs
            var accepted: [Item] = []
            for guess in guesses where guess.field == key.rawValue && (guess.isPrimary || takesEveryGuess) {
                if key.isList {
                    // Line by line: one line that is not allowed (an absolute STATIC_ROOT in site_media_map) leaves
                    // out only itself, not the guess's other lines.
                    for line in Self.lines(of: guess.value) where !accepted.contains(where: { $0.text == line }) {
                        let candidate = accepted + [Item(text: line, line: 0)]
                        do {
                            try set(key, candidate)
                            accepted = candidate
                        } catch {
                            var part = guess
                            part.value = line
                            rejected.append(RejectedGuess(guess: part, error: error))
                        }
                    }
                    continue
                }
                let candidate = Self.lines(of: guess.value).map { Item(text: $0, line: 0) }
                do {
                    try set(key, candidate)
                    accepted = candidate
                } catch {
                    rejected.append(RejectedGuess(guess: guess, error: error))
                }
                if !accepted.isEmpty { break }
            }
        }
    }

    /// The configuration the inspector proposes for an inspected repository; see ``init(guesses:)``.
    public init(inspection: Inspection) {
        self.init(guesses: inspection.guesses)
    }

    /// Reads a zoombuild.cfg, dropping its warnings; see ``parse(_:warnings:)``.
    public static func parse(_ text: String) throws(ZoombuildConfigError) -> ZoombuildConfig {
        var warnings: [Warning] = []
        return try parse(text, warnings: &warnings)
    }

    /// Reads a zoombuild.cfg, appending to `warnings` what was accepted but is worth telling.
    ///
    /// Errors about the file's structure (lines outside a section, duplicate keys) come before errors about values.
    public static func parse(_ text: String, warnings: inout [Warning]) throws(ZoombuildConfigError)
        -> ZoombuildConfig {
        var entries: [(key: String, line: Int, items: [Item])] = []
        var sectionLines: [String: Int] = [:]
        var keyLines: [String: Int] = [:]
        var inProject = false
        var hasKey = false
        var sawSection = false
        let body = text.hasPrefix("\u{FEFF}") ? text.dropFirst() : Substring(text)
        let lines = body.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }
        for (index, raw) in lines.enumerated() {
            let number = index + 1
            let trimmed = trim(raw)
            if trimmed.isEmpty || trimmed.first == "#" || trimmed.first == ";" { continue }
            if raw.first?.isWhitespace == true {
                guard sawSection else { throw .lineOutsideSection(line: number) }
                guard hasKey else { throw .continuationWithoutKey(line: number) }
                if inProject { entries[entries.count - 1].items.append(Item(text: String(trimmed), line: number)) }
                continue
            }
            if trimmed.first == "[" {
                let name = String(trim(trimmed.dropFirst().dropLast()))
                guard trimmed.last == "]", !name.isEmpty else { throw .malformedLine(line: number, text: String(raw)) }
                if let first = sectionLines[name] {
                    throw .duplicateSection(line: number, name: name, firstLine: first)
                }
                sectionLines[name] = number
                inProject = name == "project"
                if !inProject { warnings.append(.ignoredSection(line: number, name: name)) }
                sawSection = true
                hasKey = false
                continue
            }
            guard sawSection else { throw .lineOutsideSection(line: number) }
            guard let separator = trimmed.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                throw .malformedLine(line: number, text: String(raw))
            }
            let key = trim(trimmed[..<separator]).lowercased()
            let value = trim(trimmed[trimmed.index(after: separator)...])
            guard isKeyName(key) else { throw .malformedLine(line: number, text: String(raw)) }
            hasKey = true
            guard inProject else { continue }
            if let first = keyLines[key] { throw .duplicateKey(line: number, key: key, firstLine: first) }
            keyLines[key] = number
            entries.append((key, number, value.isEmpty ? [] : [Item(text: String(value), line: number)]))
        }
        guard sectionLines["project"] != nil else { throw .missingProjectSection }
        var config = ZoombuildConfig()
        for entry in entries {
            if let key = Key(rawValue: entry.key) {
                try config.set(key, entry.items)
            } else {
                warnings.append(.unknownKey(line: entry.line, key: entry.key))
                config.unknownKeys.append(UnknownKey(name: entry.key, values: entry.items.map(\.text)))
            }
        }
        return config
    }

    /// The file text: `[project]`, then every known key in ``Key`` order (an absent value as `key =`), then the
    /// unknown keys as read. Lists are written `key =` and one indented item per line.
    ///
    /// A configuration from ``parse(_:)`` or ``init(guesses:)`` renders to text that parses back to it; one built
    /// in code should pass ``validate()`` first. Whatever the values, the output has only `[project]` and its keys:
    /// a newline in a value becomes a continuation line, never a new key or section, and an unknown key whose name
    /// is not a key name, or is a known key's, is left out.
    public func rendered() -> String {
        var out = "[project]\n"
        for key in Key.allCases {
            if key == .procfileRelease, procfileRelease == nil {
                // `procfile_release =` would mean "run none": an unset key is written as a comment.
                out += "# procfile_release =   (unset: the Procfile's release: line runs; empty: none runs)\n"
                continue
            }
            out += Self.render(key.rawValue, values(for: key), isList: key.isList)
        }
        for unknown in unknownKeys where Self.isKeyName(unknown.name) && Key(rawValue: unknown.name) == nil {
            out += Self.render(unknown.name, unknown.values, isList: unknown.values.count > 1)
        }
        return out
    }

    /// ``rendered()`` followed by a comment naming each guess left out of it and why, so that the proposal says what
    /// it dropped instead of dropping it silently (the comment is ignored when the text is read back).
    public func rendered(leftOut rejected: [RejectedGuess]) -> String {
        guard !rejected.isEmpty else { return rendered() }
        var out = rendered() + "\n# Guessed but left out, as zoombuild.cfg does not allow them:\n"
        for entry in rejected {
            let value = entry.guess.value.split(whereSeparator: \.isNewline).joined(separator: " | ")
            let basis = entry.guess.basis.isEmpty ? "" : " (from \(entry.guess.basis))"
            let why = "\(entry.error)".split(whereSeparator: \.isNewline).joined(separator: " ")
            out += "# \(entry.guess.field) = \(value)\(basis): \(why)\n"
        }
        return out
    }

    /// Checks every value as ``parse(_:)`` would; for a configuration built or changed in code.
    public func validate() throws(ZoombuildConfigError) {
        var copy = ZoombuildConfig()
        for key in Key.allCases {
            try copy.set(key, values(for: key).map { Item(text: $0, line: 0) })
        }
        for unknown in unknownKeys where !Self.isKeyName(unknown.name) || Key(rawValue: unknown.name) != nil {
            throw .malformedLine(line: 0, text: unknown.name)
        }
    }

    /// The values of `key` as written in the file, one per line.
    public func values(for key: Key) -> [String] {
        switch key {
        case .sourceCodeURL: [sourceCodeURL].compactMap { $0 }
        case .title: [title].compactMap { $0 }
        case .djangoVersion: [djangoVersion].compactMap { $0 }
        case .databaseType: [databaseType?.rawValue].compactMap { $0 }
        case .basePythonPackage: [basePythonPackage].compactMap { $0 }
        case .djangoSettingsModule: [djangoSettingsModule].compactMap { $0 }
        case .siteMediaMap: siteMediaMap.map { "\($0.url) \($0.path)" }
        case .additionalPythonPathDirs: additionalPythonPathDirs
        case .requirementsFiles: requirementsFiles
        case .extraRequirements: extraRequirements
        case .pythonVersion: [pythonVersion].compactMap { $0 }
        case .packageManager: [packageManager].compactMap { $0 }
        case .wsgiModule: [wsgiModule].compactMap { $0 }
        case .managePy: [managePy].compactMap { $0 }
        case .procfileWeb: [procfileWeb].compactMap { $0 }
        case .procfileRelease: [procfileRelease].compactMap { $0 }
        case .numWorkers: [numWorkers.map(String.init)].compactMap { $0 }
        case .hostnames: hostnames
        }
    }
}

extension ZoombuildConfig {
    /// One value line with where it came from (0: not from a file).
    struct Item: Equatable, Sendable {
        var text: String
        var line: Int
    }

    /// Checks `items` for `key` and stores them; on error nothing is changed.
    mutating func set(_ key: Key, _ items: [Item]) throws(ZoombuildConfigError) {
        if !key.isList, items.count > 1 { throw .multipleValues(line: items[1].line, key: key.rawValue) }
        switch key {
        case .sourceCodeURL: sourceCodeURL = try Self.one(items, key, .sourceURL)
        case .title: title = try Self.one(items, key, .singleLine)
        case .djangoVersion: djangoVersion = try Self.one(items, key, .version)
        case .databaseType: databaseType = try Self.one(items, key, .databaseType).flatMap(DatabaseType.init)
        case .basePythonPackage: basePythonPackage = try Self.one(items, key, .moduleName)
        case .djangoSettingsModule: djangoSettingsModule = try Self.one(items, key, .moduleName)
        case .additionalPythonPathDirs: additionalPythonPathDirs = try Self.all(items, key, .relativePath)
        case .requirementsFiles: requirementsFiles = try Self.all(items, key, .relativePath)
        case .extraRequirements: extraRequirements = try Self.all(items, key, .requirement)
        case .pythonVersion: pythonVersion = try Self.one(items, key, .pythonVersion)
        case .packageManager: packageManager = try Self.one(items, key, .word)
        case .wsgiModule: wsgiModule = try Self.one(items, key, .wsgiModule)
        case .managePy: managePy = try Self.one(items, key, .relativePath)
        case .procfileWeb: procfileWeb = try Self.one(items, key, .singleLine)
        // Present and empty is a value of its own: no release command, whatever the Procfile says.
        case .procfileRelease: procfileRelease = items.isEmpty ? "" : try Self.one(items, key, .singleLine)
        case .hostnames: hostnames = try Self.all(items, key, .hostname)
        case .numWorkers:
            guard let item = items.first else { numWorkers = nil; return }
            guard let count = Int(item.text) else {
                throw .notAnInteger(line: item.line, key: key.rawValue, value: item.text)
            }
            guard Self.numWorkersRange.contains(count) else {
                throw .invalidValue(line: item.line, key: key.rawValue, value: item.text, expected: .workerCount)
            }
            numWorkers = count
        case .siteMediaMap:
            var entries: [SiteMediaEntry] = []
            for item in items {
                let fields = item.text.split(whereSeparator: \.isWhitespace).map(String.init)
                guard fields.count == 2 else { throw .malformedSiteMediaEntry(line: item.line, text: item.text) }
                try Self.check(Item(text: fields[0], line: item.line), key, .urlPath)
                try Self.check(Item(text: fields[1], line: item.line), key, .siteMediaPath)
                entries.append(SiteMediaEntry(url: fields[0], path: fields[1]))
            }
            siteMediaMap = entries
        }
    }

    private static func one(_ items: [Item], _ key: Key, _ rule: ZoombuildConfigError.Expectation)
        throws(ZoombuildConfigError) -> String? {
        guard let item = items.first else { return nil }
        try check(item, key, rule)
        return item.text
    }

    private static func all(_ items: [Item], _ key: Key, _ rule: ZoombuildConfigError.Expectation)
        throws(ZoombuildConfigError) -> [String] {
        for item in items { try check(item, key, rule) }
        return items.map(\.text)
    }

    private static func check(_ item: Item, _ key: Key, _ rule: ZoombuildConfigError.Expectation)
        throws(ZoombuildConfigError) {
        guard rule.accepts(item.text) else {
            throw .invalidValue(line: item.line, key: key.rawValue, value: item.text, expected: rule)
        }
    }

    private static func render(_ name: String, _ values: [String], isList: Bool) -> String {
        let lines = values.flatMap { Self.lines(of: $0) }
        if lines.isEmpty { return "\(name) =\n" }
        if !isList, lines.count == 1 { return "\(name) = \(lines[0])\n" }
        return "\(name) =\n" + lines.map { "    \($0)\n" }.joined()
    }

    /// The trimmed, non-empty lines of a value.
    static func lines(of value: String) -> [String] {
        value.split(whereSeparator: \.isNewline).map { String(trim($0)) }.filter { !$0.isEmpty }
    }

    private static func trim(_ text: Substring) -> Substring {
        guard let first = text.firstIndex(where: { !$0.isWhitespace }),
              let last = text.lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return text[first...last]
    }

    private static func isKeyName(_ name: String) -> Bool {
        !name.isEmpty && name.unicodeScalars.allSatisfy {
            ZoombuildConfigError.Expectation.isAlphanumeric($0) || "_.-".unicodeScalars.contains($0)
        }
    }
}
