import DZBuild
import DZSystem

extension AllowedPythons {
    /// The interpreter for a bundle built with Python `version` (`3.11.2`: major and minor must match), checked
    /// now: a regular file, executable, root's and writable by no one else, in a directory that is root's and
    /// writable by no one else.
    package func interpreter(forVersion version: String?) throws(DeployError) -> String {
        guard let version, case let parts = version.split(separator: "."), parts.count >= 2,
              parts.prefix(2).allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) })
        else {
            throw .bundle("the bundle's manifest records no Python version (\"\(String((version ?? "").prefix(20)))\")")
        }
        let wanted = parts.prefix(2).joined(separator: ".")
        guard let path = paths.first(where: { Self.version(ofName: String($0.split(separator: "/").last ?? "")) == wanted })
        else {
            throw .bundle("the bundle was built with Python \(version) and this appserver offers \(summary): "
                + "install Python \(wanted) here (a python\(wanted) in /usr/bin or /usr/local/bin, or any other with "
                + "dz agent --pythons PATH) or deploy a bundle built with a Python it has")
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
}
