import DZSpool
import Foundation
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension Integration {
    /// A task placed by another "NFS client": written through a second bindfs view of the spool, so that the
    /// agent's inotify watch (on the first view) never hears of it. The periodic rescan must find it.
    @Suite(.serialized) struct RescanTests {
        /// bindfs views of one directory, each a `bindfs -f` process this test owns, unmounted by `unmount()`.
        final class BindfsViews {
            private(set) var mounts: [(point: String, process: DZProcess)] = []
            private let fusermount: String?

            /// Mounts `backing` at each of `mountPoints`; fails the test (does not skip it) without FUSE or bindfs.
            init(_ backing: String, at mountPoints: [String], logDirectory: String) async throws {
                fusermount = executableInPath("fusermount") ?? executableInPath("fusermount3")
                guard FileManager.default.fileExists(atPath: "/dev/fuse") else {
                    throw SetupFailure("/dev/fuse is missing: this test needs FUSE (CI installs fuse3 and bindfs; a container needs --device /dev/fuse --cap-add SYS_ADMIN)")
                }
                guard let bindfs = executableInPath("bindfs") else {
                    throw SetupFailure("bindfs is not installed: apt-get install -y bindfs fuse3 (CI does)")
                }
                do {
                    for point in mountPoints {
                        try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
                        // -f: in the foreground, so that the process is ours to watch and to stop.
                        let process = try DZProcess(label: "bindfs", arguments: ["-f", backing, point],
                                                    logDirectory: logDirectory, executable: bindfs)
                        mounts.append((point, process))
                        let ready = await waitUntil(timeout: 30) { !process.isRunning || BindfsViews.isMounted(point) }
                        guard ready, process.isRunning else {
                            throw SetupFailure("bindfs \(backing) \(point) did not mount: \(process.errorTail)")
                        }
                    }
                } catch {
                    unmount()
                    throw error
                }
            }

            static func isMounted(_ point: String) -> Bool {
                guard let data = FileManager.default.contents(atPath: "/proc/self/mountinfo") else { return false }
                // Field 5 of each line is the mount point.
                return String(decoding: data, as: UTF8.self).split(separator: "\n").contains { line in
                    let fields = line.split(separator: " ")
                    return fields.count > 4 && fields[4] == point
                }
            }

            /// Unmounts every view and stops its bindfs (synchronously: for `defer`); lazily if a view is busy.
            func unmount() {
                for (point, process) in mounts.reversed() {
                    if BindfsViews.isMounted(point), let fusermount { BindfsViews.runQuietly(fusermount, ["-u", point]) }
                    if BindfsViews.isMounted(point) { BindfsViews.runQuietly("/bin/umount", [point]) }
                    if BindfsViews.isMounted(point) { BindfsViews.runQuietly("/bin/umount", ["-l", point]) }
                    // bindfs exits by itself once unmounted.
                    for _ in 0..<1000 where process.isRunning { usleep(10_000) }
                    process.kill()
                }
                mounts.removeAll()
            }

            private static func runQuietly(_ executable: String, _ args: [String]) {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: executable)
                process.arguments = args
                process.standardOutput = FileHandle.nullDevice
                process.standardError = FileHandle.nullDevice
                guard (try? process.run()) != nil else { return }
                process.waitUntilExit()
            }
        }

        /// The test's own inotify watch on a directory: shows what an agent watching that view can hear.
        final class InotifyProbe {
            let fd: Int32
            private(set) var names: [String] = []

            init(watching directory: String) throws {
                fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
                guard fd >= 0 else { throw SetupFailure("inotify_init1: errno \(errno)") }
                let mask = UInt32(IN_MOVED_TO) | UInt32(IN_CREATE) | UInt32(IN_CLOSE_WRITE)
                guard inotify_add_watch(fd, directory, mask) >= 0 else {
                    _ = Glibc.close(fd)
                    throw SetupFailure("inotify_add_watch \(directory): errno \(errno)")
                }
            }

            deinit { _ = Glibc.close(fd) }

            /// Reads the events waiting now; the names they carry go to `names`.
            func drain() {
                var buffer = [UInt8](repeating: 0, count: 64 * 1024)
                while true {
                    let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                    guard count > 0 else { return }
                    // struct inotify_event: wd, mask, cookie, len (4 bytes each), then `len` bytes of name.
                    var offset = 0
                    while offset + 16 <= count {
                        let length = Int(buffer[offset + 12]) | Int(buffer[offset + 13]) << 8
                            | Int(buffer[offset + 14]) << 16 | Int(buffer[offset + 15]) << 24
                        let name = buffer[(offset + 16)..<min(offset + 16 + length, count)].prefix { $0 != 0 }
                        if !name.isEmpty { names.append(String(decoding: name, as: UTF8.self)) }
                        offset += 16 + length
                    }
                }
            }

            func heard(_ name: String) -> Bool {
                drain()
                return names.contains(name)
            }
        }

        @Test(.timeLimit(.minutes(3)))
        func taskWrittenThroughAnotherViewIsFoundByTheRescan() async throws {
            let scratch = try TestSpool()
            defer { scratch.cleanUp() }
            let viewA = scratch.directory + "/view-a"
            let viewB = scratch.directory + "/view-b"
            let views = try await BindfsViews(scratch.root, at: [viewA, viewB], logDirectory: scratch.logDirectory)
            // Processes first (they hold the views open), then the mounts; the scratch directory last.
            defer {
                scratch.killAll()
                views.unmount()
            }

            let probe = try InotifyProbe(watching: viewA + "/build/new")
            let agent = try await scratch.startAgent(host: "hostA", via: viewA, ["--rescan", "1s"])

            // Control: a drop through the agent's own view is heard, and served.
            let control = try await scratch.send("noop", via: viewA)
            let controlDone = await waitUntil(timeout: 30) { scratch.isSettled(control) }
            #expect(controlDone, "the task dropped through view A was not served\n\(agent.errorTail)")
            #expect(probe.heard(control + ".json"), "inotify on view A did not hear a drop through view A: \(probe.names)")

            // The task from the "other host", then a marker through view A. inotify reports events in order,
            // so once the marker is heard, an event for the other task would have been heard before it.
            let remote = try await scratch.send("noop", via: viewB)
            let marker = try await scratch.send("noop", via: viewA)
            let markerHeard = await waitUntil(timeout: 30) { probe.heard(marker + ".json") }
            #expect(markerHeard, "inotify on view A did not hear the marker: \(probe.names)")
            #expect(!probe.names.contains(remote + ".json"),
                    "inotify on view A heard the drop through view B: the test does not reproduce the NFS blind spot")

            let remoteDone = await waitUntil(timeout: 60) { scratch.isSettled(remote) }
            #expect(remoteDone, """
                the task dropped through view B was never found by the rescan: new \
                \(scratch.names("build", "new")), cur \(scratch.names("build", "cur"))\n\(agent.errorTail)
                """)
            let result = try scratch.result(remote)
            #expect(result?.status == .ok)
            #expect(result?.host.rawValue == "hostA")
            #expect(scratch.records(event: "finished", task: remote).count == 1)
            #expect(agent.isRunning, "\(agent.errorTail)")
        }
    }
}
