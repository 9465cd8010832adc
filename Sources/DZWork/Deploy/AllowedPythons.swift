import DZSystem

/// The Python interpreters an appserver runs apps on: absolute paths named `python<major>.<minor>`, given by the
/// operator (`dz agent --app-pythons`, `DZ_APP_PYTHONS`) or, by default, every `/usr/bin/python3.<minor>` the host
/// has.
///
/// A bundle's interpreter is chosen here from the Python version its manifest records (the manifest of the
/// archive whose SHA-256 the deploy checked): never from the bundle's `pyvenv.cfg` or its `venv/bin/python` links,
/// which the build's code could have written and the app can rewrite. The chosen path is what the venv's links are
/// made to point at, what `pyvenv.cfg`'s `home` is rewritten to, and the only Python installation the sandbox
/// binds besides the system directories.
public struct AllowedPythons: Sendable, Equatable {
    public var paths: [String]

    public init(paths: [String]) { self.paths = paths }

    /// Every `/usr/bin/python3.<minor>` of this host.
    public static func systemDefaults() -> AllowedPythons {
        let names = ((try? FileSystem.names(in: "/usr/bin")) ?? []).filter { version(ofName: $0) != nil }
        return AllowedPythons(paths: names.sorted().map { "/usr/bin/" + $0 })
    }

    /// A comma-separated list of absolute paths, each named `python<major>.<minor>`.
    static func parse(_ text: String) throws(DeployError) -> AllowedPythons {
        var paths: [String] = []
        for part in text.split(separator: ",") {
            let path = part.trimmingCharacters(in: .whitespaces)
            guard path.hasPrefix("/"), !path.split(separator: "/").contains(where: { $0 == ".." || $0 == "." }),
                  let name = path.split(separator: "/").last, version(ofName: String(name)) != nil
            else {
                throw .badSettings("--app-pythons takes absolute paths of interpreters named pythonX.Y, not "
                    + "\"\(path.prefix(80))\"")
            }
            paths.append(path)
        }
        guard !paths.isEmpty else { throw .badSettings("--app-pythons names no interpreter") }
        return AllowedPythons(paths: paths)
    }

    /// `3.11` of `python3.11`, or nil for any other name.
    static func version(ofName name: String) -> String? {
        guard name.hasPrefix("python") else { return nil }
        let parts = name.dropFirst("python".count).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isNumber) })
        else { return nil }
        return parts.joined(separator: ".")
    }

    /// The interpreter for a bundle built with Python `version` (`3.11.2`: major and minor must match), checked
    /// now: a regular file, executable, root's and writable by no one else, in a directory that is root's and
    /// writable by no one else.
    func interpreter(forVersion version: String?) throws(DeployError) -> String {
        guard let version, case let parts = version.split(separator: "."), parts.count >= 2,
              parts.prefix(2).allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) })
        else {
            throw .bundle("the bundle's manifest records no Python version (\"\(String((version ?? "").prefix(20)))\")")
        }
        let wanted = parts.prefix(2).joined(separator: ".")
        guard let path = paths.first(where: { Self.version(ofName: String($0.split(separator: "/").last ?? "")) == wanted })
        else {
            throw .bundle("the bundle was built with Python \(version); this appserver runs apps on "
                + (paths.isEmpty ? "no Python" : paths.joined(separator: ", "))
                + " (--app-pythons): install Python \(wanted) here or build with a Python it has")
        }
        try Self.checkTrusted(path)
        return path
    }

    /// Root's, not writable by group or others: the file (followed, as `exec` follows it) and its directory.
    static func checkTrusted(_ path: String) throws(DeployError) {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        for (item, isFile) in [(path, true), (directory.isEmpty ? "/" : directory, false)] {
            let status: FileStatus
            do { status = try FileSystem.status(item) } catch {
                throw .badSettings("the allowed Python \(path) cannot be used: \(item): \(error)")
            }
            guard status.owner == 0, status.permissions & 0o022 == 0, isFile ? status.isRegular : status.isDirectory,
                  !isFile || status.permissions & 0o111 != 0
            else {
                throw .badSettings("the allowed Python \(path) cannot be used: \(item) must be "
                    + (isFile ? "an executable file" : "a directory") + " of root that no one else can write")
            }
        }
    }

    /// The installation directory of `interpreter` (the parent of its `bin`), for the sandbox to show read-only.
    static func installation(of interpreter: String) -> String {
        var directory = String(interpreter[..<(interpreter.lastIndex(of: "/") ?? interpreter.startIndex)])
        if directory.hasSuffix("/bin") { directory.removeLast(4) }
        return directory.isEmpty ? "/" : directory
    }
}
