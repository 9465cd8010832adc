import DZSystem
import Foundation
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// What a `Cluster` needs of the machine, checked before anything is made: a missing piece is a failure that says
/// what to install or enable, never a skipped test.
enum Preflight {
    static func check(layout: Cluster.SpoolLayout) async throws {
        var missing: [String] = []
        if access(Cluster.ipProgram, X_OK) != 0 { missing.append("ip (apt-get install -y iproute2)") }
        if layout == .shared {
            if Subprocess.locate("bindfs", path: Cluster.path) == nil { missing.append("bindfs (apt-get install -y bindfs)") }
            if Subprocess.locate("fusermount", path: Cluster.path) == nil {
                missing.append("fusermount (apt-get install -y fuse3)")
            }
            var status = stat()
            if stat("/dev/fuse", &status) != 0 || (status.st_mode & S_IFMT) != S_IFCHR {
                missing.append("/dev/fuse (load the fuse module on the host; give a container --device /dev/fuse)")
            }
        }
        if !missing.isEmpty { throw Cluster.Failure("the cluster tests need: " + missing.joined(separator: "; ")) }
        // Network namespaces: make one and delete it again.
        let probe = "dz-probe-\(getpid())"
        let added = try await Subprocess.run([Cluster.ipProgram, "netns", "add", probe], timeout: 30)
        _ = try? await Subprocess.run([Cluster.ipProgram, "netns", "del", probe], timeout: 30)
        guard added.succeeded else {
            throw Cluster.Failure("""
                network namespaces are not available (ip netns add: \(added.tail(3))): run as root with \
                CAP_SYS_ADMIN and CAP_NET_ADMIN (a container needs --privileged or those capabilities)
                """)
        }
    }
}

/// The `dz` executable under test: `$DZ_BINARY`, else the one built beside the test bundle.
public enum DZExecutable {
    public static func path() throws -> String {
        if let explicit = ProcessInfo.processInfo.environment["DZ_BINARY"], !explicit.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: explicit) else {
                throw Cluster.Failure("DZ_BINARY is \(explicit), which is not an executable file")
            }
            return explicit
        }
        var candidates: [String] = []
        if let executable = Bundle.main.executablePath {
            candidates.append((executable as NSString).deletingLastPathComponent + "/dz")
        }
        if let first = CommandLine.arguments.first, !first.isEmpty {
            let absolute = first.hasPrefix("/") ? first : FileManager.default.currentDirectoryPath + "/" + first
            candidates.append((absolute as NSString).deletingLastPathComponent + "/dz")
        }
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        throw Cluster.Failure("""
            the dz executable was not found next to the test bundle (looked at: \
            \(candidates.joined(separator: ", "))). Build it first: swift build --build-tests, or set DZ_BINARY.
            """)
    }
}
