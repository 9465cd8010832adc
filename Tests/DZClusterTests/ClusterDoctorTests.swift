import DZSpool
import DZSystem
import DZTestSupport
import Foundation
import Testing

extension ClusterSuites {
    /// `dz doctor` on a host of a cluster, which sees the spool through a FUSE view as an NFS client would.
    @Suite(.serialized) struct ClusterDoctorTests {
        @Test(.timeLimit(.minutes(5)))
        func doctorOnAClusterHostSeesItsViewAndAHostIDTakenByAnotherMachine() async throws {
            try await Cluster.with(hosts: ["d1", "d2"]) { cluster in
                let d1 = try cluster.host("d1")
                let healthy = try await cluster.dz(on: d1, ["doctor"])
                #expect(healthy.succeeded, "\(healthy.stdoutText)\n\(healthy.stderrText)")
                let lines = healthy.stdoutText.split(separator: "\n")
                #expect(lines.contains { $0.hasPrefix("warning") && $0.contains("filesystem: fuse") && $0.contains(d1.spool) },
                        "\(healthy.stdoutText)")
                #expect(lines.contains { $0.hasPrefix("ok") && $0.contains("clock: this host") }, "\(healthy.stdoutText)")
                #expect(lines.contains { $0.hasPrefix("ok") && $0.contains("host-id: d1") }, "\(healthy.stdoutText)")

                // Another machine's agent with the id d1 (another boot id) writes its heartbeat through d2's view.
                var beat = Heartbeat(host: try HostID("d1"), pid: 4242, version: "test", queues: [buildQueue],
                                     running: [], concurrency: 1, started: .now())
                beat.bootID = "another-machine-boot-id"
                try Spool(root: try cluster.host("d2").spool, host: try HostID("d2"), sync: false).write(beat)
                let shared = try await cluster.dz(on: d1, ["doctor", "--quiet"])
                #expect(shared.ending == .exited(1), "\(shared.stdoutText)\n\(shared.stderrText)")
                #expect(shared.stdoutText.contains("problem host-id: another machine uses the host id d1"),
                        "\(shared.stdoutText)")
                #expect(!shared.stdoutText.split(separator: "\n").contains { $0.hasPrefix("ok") },
                        "--quiet prints only warnings and problems")
            }
        }
    }
}
