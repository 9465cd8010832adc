import DZSpool
import DZSystem
import DZTestSupport
import Foundation
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension ClusterSuites {
    /// The main job across hosts on one shared spool: every role on its own host, each host blind to the others'
    /// spool writes, PostgreSQL and nginx for real.
    @Suite(.serialized) struct ClusterDeployTests {
        @Test(.timeLimit(.minutes(30)))
        func deployAcrossHostsSurvivesAKilledAppserverAndRefusesASecondCoordinator() async throws {
            try await RoleCluster.with(layout: .shared) { roles in
                try await roles.start(wakeups: ClusterScale.deployWakeups)
                let cluster = roles.cluster

                // A second coordinator on another host (with a zoomdb of its own) refuses: exit 75.
                let app1 = try cluster.host("app1")
                let second = try cluster.startDZ(on: app1, ["coordinator", "--db", app1.directory + "/other.sqlite3"],
                                                 label: "second-coordinator")
                #expect(await second.waitForExit(timeout: 60), "a second coordinator kept running")
                #expect(second.exitStatus == 75, "\(second.errorTail)")
                #expect(second.standardError.contains("another coordinator holds this spool's lease"), "\(second.errorTail)")

                // The deploy: two instances, one per appserver, the site on the proxy's nginx.
                let started = ContinuousClock.now
                let (job, deployed) = try await roles.deploy()
                let deployTime = ContinuousClock.now - started
                try #require(deployed.succeeded, "\(deployed.stdoutText)\n\(deployed.stderrText)")
                let deployedJob = try await roles.show(job)
                let instances = RoleCluster.instances(deployedJob)
                let idle = RoleCluster.timeNoStepRan(deployedJob)
                #expect(instances.map(\.appserver).sorted() == ["app1", "app2"], "one instance per appserver: \(instances)")
                let (code, page) = await roles.get()
                #expect(code == 200 && page.contains("Hello from dz"), "\(code): \(page.prefix(300))")
                // Followed from a host that is not the coordinator's: on app1, with no DZ_DB, `dz job wait` and
                // `dz job show` read the job's document the coordinator publishes in the spool (<spool>/state/),
                // through app1's own view.
                try await roles.expectFollowed(job, from: app1, instances: instances)

                // app2 dies (its agent and its instances); recover moves its instance with no failed request.
                let client = LoadClient()
                let load = Task { await client.run(roles.nginx) }
                _ = await Cluster.poll(timeout: 30) { client.counts.withLock { $0.total } >= 5 }
                let app2 = try cluster.host("app2")
                await cluster.killEverything(on: app2)
                #expect(await cluster.pids(on: app2).isEmpty)
                let recovered = try await roles.dz(["recover", "--appserver", "app2"])
                _ = await Cluster.poll(timeout: 30) { client.counts.withLock { $0.total } >= 10 }
                load.cancel()
                await load.value
                let (total, failures) = client.counts.withLock { ($0.total, $0.failures) }
                #expect(recovered.succeeded, "\(recovered.stdoutText)\n\(recovered.stderrText)")
                #expect(total >= 10, "the client kept asking: \(total) requests")
                #expect(failures.isEmpty, "\(failures.count) of \(total) requests failed: \(failures.prefix(5))")
                let (after, _) = await roles.get()
                #expect(after == 200)
                print("cluster deploy: \(deployTime) for the deploy over 5 hosts "
                      + (ClusterScale.deployWakeups ? "with wake-ups (rescans 5s)" : "without wake-ups (rescans 500ms)")
                      + String(format: ", %.2f s of its steps' span with no step running", idle ?? -1)
                      + "; recover of app2 under load: \(total) requests, \(failures.count) failed")
            }
        }
    }
}
