#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DZSystem
import Foundation
import Testing

/// Children placed before their program runs: passed descriptors, resource limits, control groups.
@Suite struct SubprocessPlacementTests {
    @Test func aPassedSocketIsTheChildsDescriptorThreeAndNothingElseLeaks() async throws {
        let listener = try ListeningSocket.bind(address: "127.0.0.1", port: 0)
        let stray = open("/dev/null", O_RDONLY)
        defer { close(stray) }
        for placement in [nil, Subprocess.Placement()] {
            let outcome = try await Subprocess.run(
                ["/usr/bin/python3", "-c", """
                    import os, socket
                    s = socket.socket(fileno=3)
                    print(s.getsockname()[1], s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))
                    print(sorted(int(n) for n in os.listdir("/proc/self/fd")))
                    """], passing: [listener.descriptor], placement: placement)
            #expect(outcome.succeeded, "\(outcome.tail())")
            let lines = outcome.stdoutText.split(separator: "\n")
            #expect(lines.first == "\(listener.port) 1", "the listening socket: \(outcome.stdoutText)")
            let descriptors = (lines.last ?? "").split(whereSeparator: { !$0.isNumber }).compactMap { Int32($0) }
            #expect(descriptors.filter { $0 > 3 }.count <= 1, "only python's own directory handle: \(descriptors)")
        }
    }

    @Test func resourceLimitsAreTheChildsFromItsFirstInstruction() async throws {
        let outcome = try await Subprocess.run(
            ["/usr/bin/python3", "-c", "import resource as r; print(r.getrlimit(r.RLIMIT_NPROC), r.getrlimit(r.RLIMIT_AS))"],
            placement: Subprocess.Placement(limits: [.init(.processes, 77), .init(.addressSpace, 512 << 20)]))
        #expect(outcome.stdoutText == "(77, 77) (536870912, 536870912)\n", "\(outcome.stdoutText) \(outcome.tail())")
    }

    @Test func aChildJoinsItsControlGroupBeforeItsProgramRuns() async throws {
        let hierarchy = "/sys/fs/cgroup/pids"
        guard getuid() == 0, FileSystem.exists(hierarchy + "/cgroup.procs") else { return }
        let group = hierarchy + "/dz-placement-test-\(getpid())"
        try FileSystem.makeDirectory(group, mode: 0o755)
        defer { try? FileSystem.removeDirectory(group) }
        let outcome = try await Subprocess.run(["/bin/cat", "/proc/self/cgroup"],
                                               placement: Subprocess.Placement(cgroupProcs: [group + "/cgroup.procs"]))
        #expect(outcome.stdoutText.contains("pids:/dz-placement-test-\(getpid())"), "\(outcome.stdoutText)")
    }

    @Test func aPlacementThatCannotBeTakenFailsTheStartClearly() async throws {
        await #expect(throws: Subprocess.Failure.self) {
            try await Subprocess.run(["/bin/true"],
                                     placement: Subprocess.Placement(cgroupProcs: ["/nonexistent/cgroup.procs"]))
        }
    }
}
