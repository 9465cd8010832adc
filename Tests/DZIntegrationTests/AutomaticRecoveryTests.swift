import DZSpool
import DZStore
import Foundation
import Testing

extension Integration {
    /// `dz coordinator --recover-after`: an appserver that runs instances (per the zoomdb) and writes no heartbeat
    /// gets a recover job per project, once, issued by the coordinator.
    @Suite(.serialized) struct AutomaticRecoveryTests {
        @Test(.timeLimit(.minutes(3)))
        func aSilentAppserverWithInstancesIsRecoveredByTheCoordinator() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let db = try ZoomDB(path: spool.zoomdbPath)
            for (project, port) in [("shop", 10001), ("blog", 10002)] {
                try db.recordDeployment(DeploymentRecord(project: project, bundle: "bundle_\(project)_1",
                                                         appserver: "gone", instance: "bundle_\(project)_1.gone.\(port).x",
                                                         host: "127.0.0.1", port: port))
            }
            let coordinator = try spool.start(["coordinator", "--rescan", "200ms", "--no-fsync", "--recover-after", "30s"],
                                              label: "coordinator")
            defer { coordinator.kill() }
            let submitted = await waitUntil(timeout: 90, every: 0.5) {
                ((try? db.jobs()) ?? []).filter { $0.kind == "recover" }.count >= 2
            }
            #expect(submitted, "a recover job per project: \(coordinator.errorTail)")
            let jobs = try db.jobs().filter { $0.kind == "recover" }
            #expect(Set(jobs.compactMap(\.project)) == ["shop", "blog"])
            #expect(jobs.allSatisfy { $0.params["appserver"] == .string("gone") && $0.issuedBy == "coordinator" })
            // Not again while the limit has not passed since (these fail at once: no release to redeploy).
            try await Task.sleep(nanoseconds: 3_000_000_000)
            #expect(try db.jobs().filter { $0.kind == "recover" }.count == 2)
        }
    }
}
