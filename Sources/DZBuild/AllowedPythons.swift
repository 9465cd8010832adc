import DZSource
import DZSystem

/// The Python interpreters a host offers, to builds (a build host) and to apps (an appserver): every
/// `python3.<minor>` in the system's directories (`/usr/local/bin`, `/usr/bin`: the `PATH` builds run with,
/// never a user's pyenv), and the ones the operator adds (`dz agent --pythons`, `DZ_PYTHONS`; the older names
/// `--app-pythons` and `DZ_APP_PYTHONS` too), absolute paths named `python<major>.<minor>`. One per minor version:
/// an added interpreter comes before a system one of the same version.
///
/// A build takes the newest of them that the project's `python_version` allows (`PythonRequirement`). An
/// appserver chooses a bundle's interpreter from the Python version its manifest records (the manifest of the
/// archive whose SHA-256 the deploy checked): never from the bundle's `pyvenv.cfg` or its `venv/bin/python` links,
/// which the build's code could have written and the app can rewrite. The chosen path is what the venv's links are
/// made to point at, what `pyvenv.cfg`'s `home` is rewritten to, and the only Python installation the sandbox
/// binds besides the system directories.
public struct AllowedPythons: Sendable, Equatable {
    public var paths: [String]

    public init(paths: [String]) { self.paths = paths }

    /// A `--pythons` list that is not one: what is wrong with it, for the operator.
    public struct ListError: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// The directories searched for `python3.<minor>`, in order.
    package static let systemDirectories = ["/usr/local/bin", "/usr/bin"]

    /// Every `python3.<minor>` of this host's system directories.
    public static func systemDefaults() -> AllowedPythons {
        var paths: [String] = []
        for directory in systemDirectories {
            let names = ((try? FileSystem.names(in: directory)) ?? []).filter {
                version(ofName: $0)?.hasPrefix("3.") == true
            }
            paths += names.sorted().map { directory + "/" + $0 }
        }
        return AllowedPythons(paths: paths).unique()
    }

    /// The operator's interpreters (`--pythons`, a comma-separated list; nil for none), then the system's.
    public static func offered(adding text: String?) throws(ListError) -> AllowedPythons {
        let added = try text.map { text throws(ListError) in try parse(text) } ?? AllowedPythons(paths: [])
        return AllowedPythons(paths: added.paths + systemDefaults().paths).unique()
    }

    /// The first path of each minor version.
    func unique() -> AllowedPythons {
        var seen: Set<String> = []
        return AllowedPythons(paths: paths.filter { seen.insert(Self.version(ofPath: $0) ?? $0).inserted })
    }

    /// The minor versions offered, in the order of `paths`: `["3.11", "3.12"]`.
    public var versions: [String] { paths.compactMap(Self.version(ofPath:)) }

    /// The interpreter of the newest minor version `requirement` allows (any, when nil: the newest offered).
    public func newest(allowedBy requirement: PythonRequirement?) -> String? {
        let candidates = requirement.map { $0 } ?? PythonRequirement("*")!
        guard let version = candidates.newest(of: versions) else { return nil }
        return paths.first { Self.version(ofPath: $0) == version }
    }

    /// `3.11 (/usr/bin/python3.11), 3.12 (/opt/python3.12/bin/python3.12)`, or `no Python`.
    public var summary: String {
        paths.isEmpty ? "no Python" : paths.map { "\(Self.version(ofPath: $0) ?? "?") (\($0))" }.joined(separator: ", ")
    }

    /// The one sentence a job fails with when `requirement` fits none of `offered` on `host` (a build host, the
    /// appservers): what the project asks for, what the host has, and how to add one.
    public static func unavailable(_ requirement: PythonRequirement, basis: String?, host: String,
                                   offered: String) -> String
    {
        "the project asks for Python \(requirement)" + (basis.map { " (\($0))" } ?? "")
            + " and \(host) \(host.hasPrefix("the appservers") ? "offer" : "offers") \(offered): "
            + "install a Python that fits there (a python3.X in /usr/bin or "
            + "/usr/local/bin, or any other with dz agent --pythons PATH) or change python_version in zoombuild.cfg"
    }

    package static func version(ofPath path: String) -> String? {
        version(ofName: String(path.split(separator: "/").last ?? ""))
    }

    /// A comma-separated list of absolute paths, each named `python<major>.<minor>`.
    package static func parse(_ text: String) throws(ListError) -> AllowedPythons {
        var paths: [String] = []
        for part in text.split(separator: ",") {
            let path = part.trimmingCharacters(in: .whitespaces)
            guard path.hasPrefix("/"), !path.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }),
                  let name = path.split(separator: "/").last, version(ofName: String(name)) != nil
            else {
                throw ListError("--pythons takes absolute paths of interpreters named pythonX.Y, not "
                    + "\"\(path.prefix(80))\"")
            }
            paths.append(path)
        }
        guard !paths.isEmpty else { throw ListError("--pythons names no interpreter") }
        return AllowedPythons(paths: paths)
    }

    /// `3.11` of `python3.11`, or nil for any other name.
    package static func version(ofName name: String) -> String? {
        guard name.hasPrefix("python") else { return nil }
        let parts = name.dropFirst("python".count).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isNumber) })
        else { return nil }
        return parts.joined(separator: ".")
    }

    /// The installation directory of `interpreter` (the parent of its `bin`), for the sandbox to show read-only.
    package static func installation(of interpreter: String) -> String {
        var directory = String(interpreter[..<(interpreter.lastIndex(of: "/") ?? interpreter.startIndex)])
        if directory.hasSuffix("/bin") { directory.removeLast(4) }
        return directory.isEmpty ? "/" : directory
    }
}
