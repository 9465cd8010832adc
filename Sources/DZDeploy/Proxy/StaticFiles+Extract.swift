import DZBundle
import DZSystem

/// Out of a whole extracted bundle, only its static directories, readable by nginx's workers.
extension StaticFiles {
    /// Extracts the mapped directories of the archive, moves them to `<work>/static` and makes them readable by all;
    /// returns how many directories were kept.
    static func keepStatic(archive: String, work: String, bundle: String, mappings: [StaticMapping])
        throws(ProxyError) -> Int
    {
        let extracted = work + "/bundle"
        let manifest: BundleManifest
        do { manifest = try BundleArchive.extract(archive, into: extracted, only: mappings.map(\.path)) } catch {
            throw .bundle("\(bundle): \(error)")
        }
        try? FileSystem.unlink(archive)
        guard manifest.name == bundle else {
            throw .bundle("the archive stored as \(bundle) holds bundle \(NginxToken.printable(manifest.name))")
        }
        let kept = work + "/static"
        try step("mkdir", kept) { () throws(Errno) in try FileSystem.makeDirectory(kept, mode: 0o755) }
        // Shortest first: a mapping inside one already moved moves with it.
        var moved: [String] = []
        for mapping in mappings.sorted(by: { $0.path.count < $1.path.count }) {
            if moved.contains(where: { mapping.path.hasPrefix($0 + "/") }) { continue }
            guard isRealDirectory(extracted, mapping.path) else {
                throw .staticMissing(path: mapping.path, bundle: bundle)
            }
            let parts = mapping.path.split(separator: "/").map(String.init)
            var parent = kept
            for part in parts.dropLast() {
                parent += "/" + part
                try step("mkdir", parent) { () throws(Errno) in
                    if !FileSystem.exists(parent) { try FileSystem.makeDirectory(parent, mode: 0o755) }
                }
            }
            try step("rename", mapping.path) { () throws(Errno) in
                try FileSystem.rename(extracted + "/" + mapping.path, kept + "/" + mapping.path)
            }
            moved.append(mapping.path)
        }
        for mapping in mappings where !isRealDirectory(kept, mapping.path) {
            throw .staticMissing(path: mapping.path, bundle: bundle)
        }
        SourceTree.remove(extracted)
        let top = try step("resolve", kept) { () throws(Errno) in try FileSystem.resolve(kept) }
        try makeReadable(kept, top: top)
        return moved.count
    }

    /// Whether `<base>/<path>` is a directory reached through directories only (no symbolic link on the way).
    static func isRealDirectory(_ base: String, _ path: String) -> Bool {
        var current = base
        for part in path.split(separator: "/") {
            current += "/" + part
            guard (try? FileSystem.linkStatus(current))?.isDirectory == true else { return false }
        }
        return true
    }

    /// Directories 0755, files 0644; symbolic links that do not resolve to something under `top` and anything that
    /// is neither removed.
    private static func makeReadable(_ directory: String, top: String) throws(ProxyError) {
        try step("chmod", directory) { () throws(Errno) in try FileSystem.setMode(directory, 0o755) }
        let names = try step("readdir", directory) { () throws(Errno) in try FileSystem.names(in: directory) }
        for name in names {
            let path = directory + "/" + name
            let status = try step("stat", path) { () throws(Errno) in try FileSystem.linkStatus(path) }
            switch status.kind {
            case .directory:
                try makeReadable(path, top: top)
            case .regular:
                try step("chmod", path) { () throws(Errno) in try FileSystem.setMode(path, 0o644) }
            default:
                let target = try? FileSystem.resolve(path)
                if let target, target.hasPrefix(top + "/") { continue }
                try step("unlink", path) { () throws(Errno) in try FileSystem.unlink(path) }
            }
        }
    }
}
