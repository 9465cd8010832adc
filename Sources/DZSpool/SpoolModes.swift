import DZSystem
#if canImport(Glibc)
import Glibc
#endif

/// The one place that decides the modes of what dz creates in a spool, so that agents running as different users
/// share it: the appserver's agent as root, the build, database and proxy hosts' and the coordinator as `dz`, and
/// the operator's commands as whoever runs them. Every directory is 2770 and every file 0660, whatever the
/// process's umask: setgid directories give each new file and directory the spool root's group (`dz init --group
/// dz`), its members may read, rename, link and touch each other's files (Linux lets a process hard-link a file
/// it does not own only when it may read and write it), and nobody outside the group can enter the spool at all:
/// not the apps' users, whose deploy tasks carry their secrets, nor other local users.
public enum SpoolModes {
    public static let directory: mode_t = 0o2770
    public static let file: mode_t = 0o660

    /// Creates `path` and its missing parents with the directory mode.
    static func makeDirectories(_ path: String) throws(Errno) {
        try FileSystem.makeDirectories(path, mode: directory, exactMode: true)
    }

    /// Opens the log file `path` for appending, creating it with the file mode (a log one agent started may be
    /// appended to by another of the same host id, or by the operator's commands).
    static func openLog(_ path: String) throws(Errno) -> AppendFile {
        let file = try AppendFile(path: path, mode: file)
        // The umask took group write off a file this process created; one it did not create is not its to change.
        try? FileSystem.setMode(path, SpoolModes.file)
        return file
    }

    /// Creates the new file `path` with the file mode.
    static func createFile(_ path: String, bytes: [UInt8], sync: Bool) throws(Errno) {
        try FileIO.create(path, bytes: bytes, mode: file, exactMode: true, sync: sync)
    }
}
