import DZSystem
#if canImport(Glibc)
import Glibc
#endif

extension Spool {
    /// Gives the whole spool to `group` with the shared modes (see `SpoolModes`): every directory and file under
    /// the root gets the group, directories 2770 and files 0660, so that agents of different users in that group
    /// share it from now on (new entries inherit the group from their setgid directory). The coordinator's
    /// `zoomdb/` is left as it is (its own user's, mode 0700). For `dz init --group`, as root; it also converts a
    /// spool made before modes were shared. Symbolic links are not followed.
    public func share(withGroup group: gid_t) throws(SpoolError) {
        try share(root, group: group)
    }

    private func share(_ path: String, group: gid_t) throws(SpoolError) {
        let status: FileStatus
        do { status = try FileSystem.linkStatus(path) } catch { throw error.at("stat", path) }
        do { try FileSystem.setGroup(path, group) } catch { throw error.at("chgrp", path) }
        if status.isDirectory {
            do { try FileSystem.setMode(path, SpoolModes.directory) } catch { throw error.at("chmod", path) }
            let names: [String]
            do { names = try FileSystem.names(in: path) } catch { throw error.at("list", path) }
            for name in names where !(path == root && name == "zoomdb") {
                try share(path + "/" + name, group: group)
            }
        } else if status.isRegular {
            do { try FileSystem.setMode(path, SpoolModes.file) } catch { throw error.at("chmod", path) }
        }
    }

    /// The directories this process would need to write and cannot: the root, `log/`, `hosts/`, and those of
    /// `queues` that exist (a missing one is made from the root). An agent or coordinator checks them at start,
    /// so that a spool it does not share (another user's, or not made with `dz init --group`) is one clear
    /// message instead of a failed rename later.
    public func unwritableDirectories(for queues: [QueueName]) -> [String] {
        var directories = [root, logPath, hostsPath]
        for queue in queues where exists(queue) {
            directories += [path(queue)] + Stage.allCases.map { path(queue, $0) }
        }
        return directories.filter { FileSystem.exists($0) && !FileSystem.isWritableDirectory($0) }
    }
}
