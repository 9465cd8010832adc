import Foundation

/// The requirements a bundle installs: the project's requirements files plus `extra_requirements`, with
/// duplicates merged and conflicts reported, and what dz itself needs (gunicorn, the database driver, Django at the
/// configured version) added when the project does not name it.
public struct RequirementSet: Sendable, Equatable {
    /// Lines for pip, in order: `-r <file>` for each project file, then added requirements.
    public private(set) var lines: [String]
    public private(set) var warnings: [String]

    /// Package names (normalised: lower case, `_` and `.` as `-`) the project's files and extras name.
    public private(set) var named: [String: String]

    public init(projectFiles: [(path: String, text: String)], extra: [String], djangoVersion: String?,
                databaseDriver: String?)
    {
        lines = []
        warnings = []
        named = [:]
        for file in projectFiles {
            lines.append("-r " + file.path)
            for line in file.text.split(whereSeparator: \.isNewline) {
                note(String(line), from: file.path)
            }
        }
        for requirement in extra {
            note(requirement, from: "extra_requirements")
            lines.append(requirement)
        }
        if named["django"] == nil {
            lines.append(djangoVersion.map { RequirementSet.pin("Django", $0) } ?? "Django")
        }
        if named["gunicorn"] == nil { lines.append("gunicorn") }
        if let databaseDriver, named[RequirementSet.normalise(databaseDriver)] == nil,
           !(databaseDriver.hasPrefix("psycopg") && named.keys.contains { $0.hasPrefix("psycopg") })
        {
            lines.append(databaseDriver)
        }
    }

    /// `Django==4.2.7` for a full version, `Django==4.2.*` for a major.minor one, and a specifier as it is
    /// (`Django>=4.2,<5.0`: what the inspector reports when the project pins no exact version).
    static func pin(_ name: String, _ version: String) -> String {
        guard let first = version.first, first.isNumber else { return name + version.filter { $0 != " " } }
        return version.split(separator: ".").count >= 3 ? "\(name)==\(version)" : "\(name)==\(version).*"
    }

    /// The package name of a requirement line, or nil for options, includes, comments and URLs.
    static func name(of line: String) -> String? {
        var text = line
        if let hash = text.firstIndex(of: "#") { text = String(text[..<hash]) }
        text = text.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty, !text.hasPrefix("-"), !text.contains("://") else { return nil }
        let end = text.firstIndex { !($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") } ?? text.endIndex
        let name = String(text[..<end])
        return name.isEmpty ? nil : normalise(name)
    }

    static func normalise(_ name: String) -> String {
        String(name.lowercased().map { $0 == "_" || $0 == "." ? "-" : $0 })
    }

    private mutating func note(_ line: String, from source: String) {
        guard let name = RequirementSet.name(of: line) else { return }
        let spec = line.split(separator: "#").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? line
        if let earlier = named[name] {
            let earlierSpec = earlier.split(separator: "\t").first.map(String.init) ?? earlier
            if RequirementSet.specifier(earlierSpec) != RequirementSet.specifier(spec) {
                warnings.append("conflicting requirements for \(name): \"\(earlierSpec)\" and \"\(spec)\" (\(source)); pip decides")
            } else {
                warnings.append("\(name) is required twice (\(source))")
            }
            return
        }
        named[name] = spec
    }

    private static func specifier(_ spec: String) -> String {
        guard let name = name(of: spec) else { return spec }
        return String(spec.dropFirst(name.count)).replacingOccurrences(of: " ", with: "")
    }

    /// The requirements file dz writes into the build.
    public var text: String { lines.joined(separator: "\n") + "\n" }
}
