import DZBuild
import DZSystem

/// Where an installed bundle's release command comes from: zoombuild.cfg's `procfile_release` when the build had
/// one (the builder writes it to `<bundle>/dz/procfile_release`; empty there means "none"), otherwise the `release:`
/// line of the project's Procfile (`<bundle>/src/Procfile`). Bundles built before `procfile_release` was kept have
/// no such file and read the Procfile, as they always did.
///
/// Both files are in the app's own bundle, which the app's user owns: they are read through directory handles,
/// never following a link, only when that user owns them, and up to 64 KiB.
package enum ReleaseCommandSource {
    /// The file under `<bundle>/dz/` holding zoombuild.cfg's `procfile_release`.
    static let bundleFile = BundleBuilder.releaseCommandFile

    /// The release command of `record`'s bundle, or nil when it has none.
    package static func command(of record: InstanceRecord) throws(DeployError) -> ProcfileCommand? {
        let bundle: DirectoryHandle
        do {
            bundle = try DirectoryHandle.open(record.appDirectory).directory(record.bundle)
        } catch {
            throw .filesystem("open", path: record.bundleDirectory, error)
        }
        if let configured = try read(bundle, ["dz"], bundleFile, of: record) {
            let line = String(decoding: configured, as: UTF8.self)
            guard !line.allSatisfy(\.isWhitespace) else { return nil }
            do {
                return try ProcfileCommand(process: "release", line: line)
            } catch {
                throw .hook(kind: "release", "procfile_release (zoombuild.cfg's, kept with the bundle): \(error)")
            }
        }
        guard let procfile = try read(bundle, ["src"], "Procfile", of: record) else {
            return nil
        }
        do {
            return try ProcfileCommand.find("release", in: String(decoding: procfile, as: UTF8.self))
        } catch {
            throw .hook(kind: "release", error.description)
        }
    }

    /// The bytes of `<bundle>/<components>/<name>` when the app's user owns it, or nil when there is no such entry.
    private static func read(_ bundle: DirectoryHandle, _ components: [String], _ name: String,
                             of record: InstanceRecord) throws(DeployError) -> [UInt8]?
    {
        let path = record.bundleDirectory + "/" + (components + [name]).joined(separator: "/")
        do {
            let directory: DirectoryHandle
            do {
                directory = try bundle.directory(components: components)
            } catch .noSuchFileOrDirectory {
                return nil
            }
            guard directory.entry(name) != nil else { return nil }
            return try directory.read(name, limit: 64 * 1024, ownedBy: record.uid)
        } catch {
            throw .filesystem("read", path: path, error)
        }
    }
}
