import DZSystem
import Foundation

/// A virtualenv's links to its base interpreter (`bin/python`, `bin/python3`, `bin/python3.X`) are absolute, and
/// bundles never carry a link that points outside themselves (extraction refuses them). So the archive leaves them
/// out (`BundleArchive.create(omittingLinks:)`, the build tree itself is not changed) and they are made again, on the
/// host that runs the bundle, from `pyvenv.cfg` (`home` and `version`):
/// the appserver must have the same Python at the same place as the build host (same OS image), which `restore`
/// checks.
public enum Interpreter {
    /// Makes `bin/python`, `bin/python3` and `bin/python<major.minor>` point at the interpreter `pyvenv.cfg`
    /// names, failing clearly when this host does not have it.
    public static func restore(venv: String) throws(BuildError) {
        guard let bytes = try? FileIO.readAll(venv + "/pyvenv.cfg") else {
            throw BuildError("python", "\(venv)/pyvenv.cfg is missing: not a virtualenv")
        }
        var settings: [String: String] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 {
                settings[parts[0].trimmingCharacters(in: .whitespaces)] = parts[1].trimmingCharacters(in: .whitespaces)
            }
        }
        guard let home = settings["home"], let version = settings["version"] ?? settings["version_info"] else {
            throw BuildError("python", "\(venv)/pyvenv.cfg names no home or version")
        }
        let minor = version.split(separator: ".").prefix(2).joined(separator: ".")
        let candidates = [home + "/python" + minor, home + "/python3"]
        guard let interpreter = candidates.first(where: { access($0, X_OK) == 0 }) else {
            throw BuildError("python", "this host has no Python \(version) at \(home): bundles run only on hosts "
                             + "built like their build host")
        }
        for name in ["python", "python3", "python" + minor] {
            let link = venv + "/bin/" + name
            try? FileSystem.unlink(link)
            do { try FileSystem.symlink(target: interpreter, at: link) } catch {
                throw BuildError("filesystem", "cannot link \(link): \(error)")
            }
        }
    }
}
