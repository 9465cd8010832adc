import DZSystem
import Foundation

/// A second view of a directory through bindfs (FUSE), as the benchmark's "other host" sees the spool: inotify on
/// the view does not hear files written straight into the directory (nor through another view), exactly as an
/// NFS client does not hear another client's. `bindfs -f` runs as a child process; `unmount()` ends it.
final class BindfsView {
    let point: String
    private let process = Process()

    /// Mounts `directory` at `point` (made if missing); fails with what to install when bindfs or FUSE is missing.
    init(_ directory: String, at point: String) throws {
        self.point = point
        guard FileSystem.exists("/dev/fuse") else {
            throw BenchError("the cross-host measurement needs FUSE (/dev/fuse): in a container, --device /dev/fuse")
        }
        guard let bindfs = BindfsView.executable("bindfs") else {
            throw BenchError("the cross-host measurement needs bindfs: apt-get install -y bindfs fuse3")
        }
        try FileSystem.makeDirectories(point)
        process.executableURL = URL(fileURLWithPath: bindfs)
        process.arguments = ["-f", directory, point]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Timestamp.now() + 30
        while !isMounted {
            guard process.isRunning, Timestamp.now() < deadline else {
                unmount()
                throw BenchError("bindfs \(directory) \(point) did not mount")
            }
            usleep(20_000)
        }
    }

    var isMounted: Bool {
        ((try? MountTable.current())?.mounts ?? []).contains { $0.mountPoint == point }
    }

    /// Unmounts (fusermount -u, else umount -l) and waits for bindfs to end.
    func unmount() {
        for command in [["fusermount", "-u", point], ["fusermount3", "-u", point], ["umount", "-l", point]] where isMounted {
            guard let path = BindfsView.executable(command[0]) else { continue }
            let tool = Process()
            tool.executableURL = URL(fileURLWithPath: path)
            tool.arguments = Array(command.dropFirst())
            tool.standardOutput = FileHandle.nullDevice
            tool.standardError = FileHandle.nullDevice
            guard (try? tool.run()) != nil else { continue }
            tool.waitUntilExit()
        }
        for _ in 0..<500 where process.isRunning { usleep(10_000) }
        if process.isRunning { process.terminate() }
    }

    static func executable(_ name: String) -> String? {
        for dir in ["/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"] where FileSystem.exists(dir + "/" + name) {
            return dir + "/" + name
        }
        return nil
    }
}

/// What stopped a measurement, said for the person running it.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
