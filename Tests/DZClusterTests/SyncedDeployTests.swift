import DZSpool
import DZSystem
import DZTestSupport
import Foundation
import Testing

extension ClusterSuites {
    /// The same deploy as `ClusterDeployTests` on a synced spool: every host its own spool directory, connected only
    /// by the shipped sync configuration, each queue consumed on its owner's host alone.
    @Suite(.serialized) struct SyncedDeployTests {
        static let owners = [
            "jobs": "coord", "results": "coord",
            "build": "build", "database": "build", "host_build": "build",
            "appserver_app1": "app1", "host_app1": "app1",
            "appserver_app2": "app2", "host_app2": "app2",
            "proxy": "proxy", "host_proxy": "proxy",
        ]

        @Test(.timeLimit(.minutes(30)))
        func deployOnASyncedSpoolRunsNoTaskTwiceAndDropsARedeliveredCopy() async throws {
            try await RoleCluster.with(layout: .synced) { roles in
                let cluster = roles.cluster
                let sync = SyncedSpool(cluster: cluster, owners: Self.owners)
                try await sync.start()
                try await roles.start()

                let started = ContinuousClock.now
                let (job, deployed) = try await roles.deploy()
                let deployTime = ContinuousClock.now - started
                try #require(deployed.succeeded, "\(deployed.stdoutText)\n\(deployed.stderrText)")
                let instances = RoleCluster.instances(try await roles.show(job))
                #expect(instances.map(\.appserver).sorted() == ["app1", "app2"], "one instance per appserver: \(instances)")
                let (code, page) = await roles.get()
                #expect(code == 200 && page.contains("Hello from dz"), "\(code): \(page.prefix(300))")

                // Followed from a host that is not the coordinator's: app1 has no zoomdb and its own spool, into
                // which the coordinator's host mirrors its published state (state/, through the dz-state module).
                let app1 = try cluster.host("app1")
                try await roles.expectFollowed(job, from: app1, instances: instances)

                // Every task dropped (by the coordinator, into its outboxes) ran exactly once, on its queue's owner.
                let spools = cluster.hosts.map(\.spool)
                let trail = AuditTrail(spools: spools)
                let taskQueues = Set(Self.owners.keys).subtracting(["jobs", "results"])
                var claims: [String: Int] = [:]
                for entry in trail.events("claimed") {
                    guard let queue = entry["queue"], let task = entry["task"] else { continue }
                    claims[queue + "/" + task, default: 0] += 1
                    #expect(Self.owners[queue] == entry["host"], "\(queue) consumed on \(entry["host"] ?? "?"): \(entry)")
                }
                let dropped = Set(trail.events("dropped").compactMap { entry -> String? in
                    guard let queue = entry["queue"], taskQueues.contains(queue), let task = entry["task"] else { return nil }
                    return queue + "/" + task
                })
                #expect(dropped.count >= 5, "the deploy's tasks: \(dropped.sorted())")
                // (The job request itself is claimed from jobs, by the coordinator, on its host.)
                #expect(claims.keys.contains("jobs/" + job), "\(claims.keys.sorted())")
                let taskClaims = Set(claims.keys.filter { taskQueues.contains(String($0.prefix { $0 != "/" })) })
                let unclaimed = dropped.subtracting(taskClaims).sorted()
                let undropped = taskClaims.subtracting(dropped).sorted()
                #expect(taskClaims == dropped, "dropped, never claimed: \(unclaimed); claimed, never dropped: \(undropped)")
                #expect(claims.filter { $0.value > 1 }.isEmpty, "run twice: \(claims.filter { $0.value > 1 })")

                // Nothing left in transit: no task or result in any host's outbox, nothing waiting in an inbox.
                let transit = { () -> [String] in
                    cluster.hosts.flatMap { host in
                        Self.owners.flatMap { queue, owner in
                            (owner == host.name ? names(host.spool, queue, "inbox") : names(host.spool, queue, "new"))
                                .filter { !$0.hasPrefix(".") }
                                .map { "\(host.name):\(queue)/\(owner == host.name ? "inbox" : "new")/\($0)" }
                        }
                    }
                }
                let emptied = await Cluster.poll(timeout: 60) { transit().isEmpty }
                #expect(emptied, "left in transit: \(transit())")
                print("synced deploy: \(deployTime) for the deploy over 5 hosts, each with its own spool; "
                      + "\(dropped.count) tasks, each run once on its owner")

                // A copy pushed again (what an rsync cut short between copy and removal does) is dropped by the
                // owner, and nothing runs twice.
                let build = try cluster.host("build"), coord = try cluster.host("coord")
                let finished = try #require(dayNames(build.spool, "build", "done").first { $0.hasSuffix(".json") })
                let original = try #require(FileSystem.resolveDay(build.spool, "build", "done", finished))
                let copy = try FileIO.readAll(original)
                let outbox = coord.spool + "/build/new/"
                try FileIO.create(outbox + ".resend", bytes: copy, mode: 0o600, sync: false)
                try FileSystem.rename(outbox + ".resend", outbox + finished)
                let redelivered = await Cluster.poll(timeout: 60) {
                    AuditTrail(spools: [build.spool]).events("redelivered", queue: "build")
                        .contains { $0["task"] == String(finished.dropLast(5)) }
                }
                #expect(redelivered, "the owner dropped the redelivered \(finished)")
                // rsync removes its source after the copy has landed, which may be a moment after the owner took
                // it in: wait for the removal rather than expect it at once.
                let removed = await Cluster.poll(timeout: 60) { !FileSystem.exists(outbox + finished) }
                #expect(removed, "pushed and removed from the outbox")
                let again = AuditTrail(spools: [build.spool]).counts("claimed", queue: "build")[String(finished.dropLast(5))]
                #expect(again == 1, "claimed \(again ?? 0) times")

                // dz doctor on every host: a synced spool, each queue with one owner, nothing wrong.
                for host in cluster.hosts {
                    let doctor = try await cluster.dz(on: host, ["doctor", "--quiet"])
                    #expect(doctor.succeeded, "\(host.name): \(doctor.stdoutText)\n\(doctor.stderrText)")
                }
                // An agent elsewhere that serves build too (here its heartbeat, as pushed to the build host): the
                // owner's doctor names the queue and both hosts.
                try Spool(root: build.spool, host: try HostID("build"), sync: false).write(
                    Heartbeat(host: try HostID("rogue"), pid: 99, version: "test", queues: [buildQueue], running: [],
                              concurrency: 1, started: .now()))
                let doctor = try await cluster.dz(on: build, ["doctor", "--quiet"])
                #expect(doctor.ending == .exited(1), "\(doctor.stdoutText)")
                #expect(doctor.stdoutText.contains("queue build is consumed on build and rogue"), "\(doctor.stdoutText)")
            }
        }
    }
}
