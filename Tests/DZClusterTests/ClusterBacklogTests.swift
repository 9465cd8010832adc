import DZSpool
import DZSystem
import DZTestSupport
import Foundation
import Testing

extension ClusterSuites {
    /// Claims across hosts: agents that never see each other's writes (each through its own bindfs view, as NFS
    /// clients) race over one queue.
    @Suite(.serialized) struct ClusterBacklogTests {
        @Test(.timeLimit(.minutes(20)))
        func backlogOverThreeBlindAgentsRunsEveryTaskExactlyOnce() async throws {
            let count = ClusterScale.backlogTasks
            try await Cluster.with(hosts: ["a1", "a2", "a3"]) { cluster in
                let shared = try #require(cluster.spoolDirectory)
                // The tester writes through the directory itself: no agent's inotify sees these drops.
                let spool = Spool(root: shared, host: try HostID("tester"), sync: false)
                let ids = (0..<count).map { "backlog-\($0)" }
                for id in ids.prefix(count / 2) { try spool.drop(TaskFile(id: TaskID(id), task: "noop"), into: buildQueue) }
                var agents: [ClusterProcess] = []
                for host in cluster.hosts {
                    agents.append(try await cluster.startAgent(on: host, queues: "build",
                                                               ["--rescan", "200ms", "--no-fsync", "--concurrency", "4"]))
                }
                let started = ContinuousClock.now
                for id in ids.dropFirst(count / 2) {
                    try spool.drop(TaskFile(id: TaskID(id), task: "noop"), into: buildQueue)
                }
                let finished = await Cluster.poll(timeout: 600, every: 0.5) {
                    dayNames(shared, "build", "done").count >= count || agents.contains { !$0.isRunning }
                }
                let elapsed = ContinuousClock.now - started
                for agent in agents { #expect(agent.isRunning, "\(agent.errorTail)") }
                try #require(finished, "\(dayNames(shared, "build", "done").count) of \(count) done")

                // Exactly once: one claim, one finish, one result per task; nothing left, nothing failed.
                let trail = AuditTrail(spools: [shared])
                let claims = trail.counts("claimed", queue: "build")
                let finishes = trail.counts("finished", queue: "build")
                #expect(claims.count == count && finishes.count == count)
                let twice = claims.filter { $0.value != 1 }.map(\.key).sorted()
                #expect(twice.isEmpty, "claimed more than once: \(twice.prefix(10))")
                #expect(finishes.values.allSatisfy { $0 == 1 })
                #expect(Set(dayNames(shared, "build", "done")) == Set(ids.map { $0 + ".json" }))
                #expect(dayNames(shared, "build", "failed").isEmpty)
                #expect(names(shared, "build", "new").isEmpty && names(shared, "build", "cur").isEmpty)
                #expect(Set(names(shared, "results", "new")) == Set(ids.map { $0 + ".json" }))
                // And spread over the three hosts, each of which found others' drops by rescan alone.
                var perHost: [String: Int] = [:]
                for entry in trail.events("claimed", queue: "build") { perHost[entry["host"] ?? "?", default: 0] += 1 }
                for host in cluster.hosts { #expect((perHost[host.name] ?? 0) > 0, "\(host.name) claimed nothing: \(perHost)") }
                print("cluster backlog: \(count) tasks over \(cluster.hosts.count) blind agents in \(elapsed), "
                      + "claims per host \(perHost.sorted { $0.key < $1.key })")
                for agent in agents { agent.send(SIGTERM) }
                for agent in agents { #expect(await agent.waitForExit(timeout: 60), "\(agent.errorTail)") }
            }
        }
    }
}
