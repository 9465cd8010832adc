import DZSpool
import DZSystem
import DZTestSupport
import Foundation
import Testing

extension ClusterSuites {
    /// Cross-host pickup: a task dropped on one host, claimed by an agent on another that cannot see the drop
    /// (its own bindfs view) until its rescan. Figures printed, never asserted (timing assertions are forbidden);
    /// what is asserted is that every task was picked up, by the other host.
    @Suite(.serialized) struct ClusterPickupLatencyTests {
        /// Drops `count` tasks one at a time through `producer`'s view, each a random part of `spread` seconds after
        /// the previous was claimed on the agent's host (so that drops do not fall just after its rescans); returns
        /// the pickup latencies (drop to claim) in seconds, sorted.
        static func pickups(_ cluster: Cluster, producer: ClusterHost, agentHost: ClusterHost, count: Int,
                            spread: Double, agent: ClusterProcess) async throws -> [Double]
        {
            let spool = Spool(root: producer.spool, host: try HostID(producer.name), sync: false)
            var latencies: [Double] = []
            for index in 0..<count {
                let id = "pickup-\(index)"
                try await Task.sleep(for: .milliseconds(Int.random(in: 0..<Int(spread * 1000))))
                let dropped = Timestamp.now()
                try spool.drop(TaskFile(id: TaskID(id), task: "noop"), into: buildQueue)
                var claimed: AuditTrail.Entry?
                let seen = await Cluster.poll(timeout: 60, every: 0.01) {
                    claimed = AuditTrail(spools: [agentHost.spool]).events("claimed", queue: "build")
                        .first { $0["task"] == id }
                    return claimed != nil || !agent.isRunning
                }
                try #require(seen && claimed != nil, "\(id) was not claimed: \(agent.errorTail)")
                #expect(claimed?["host"] == agentHost.name)
                let at = claimed.flatMap { $0["ts"] }.flatMap { Timestamp(rfc3339: $0) }
                latencies.append(max(0, (try #require(at)) - dropped))
            }
            return latencies.sorted()
        }

        static func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
            sorted[min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.up)) - 1)]
        }

        @Test(.timeLimit(.minutes(10)))
        func pickupFromAnotherHostsDropWithoutWakeups() async throws {
            let count = ClusterScale.isBig ? 200 : 40
            try await Cluster.with(hosts: ["producer", "worker"]) { cluster in
                let producer = try cluster.host("producer"), worker = try cluster.host("worker")
                let agent = try await cluster.startAgent(on: worker, queues: "build", ["--rescan", "500ms", "--no-fsync"])
                let latencies = try await Self.pickups(cluster, producer: producer, agentHost: worker, count: count,
                                                       spread: 0.5, agent: agent)
                #expect(latencies.count == count)
                print("cluster pickup across hosts without wake-ups (rescan 500ms, \(count) tasks): "
                      + String(format: "p50 %.1f ms, p99 %.1f ms, max %.1f ms",
                               Self.percentile(latencies, 0.5) * 1000, Self.percentile(latencies, 0.99) * 1000,
                               (latencies.last ?? 0) * 1000))
                agent.send(SIGTERM)
                #expect(await agent.waitForExit(timeout: 60))
            }
        }

        /// The same with wake-ups: the agent listens on its host's address (its heartbeat publishes it) and scans
        /// only every 10 minutes, so that a pickup within the test's deadline is the ring's doing; each task is
        /// dropped by `dz send` on the producer's host, which rings the agent after the drop. The latency runs
        /// from the `dropped` line to the `claimed` line of the audit log (one machine, one clock).
        @Test(.timeLimit(.minutes(10)))
        func pickupFromAnotherHostsDropWithWakeups() async throws {
            let count = ClusterScale.isBig ? 200 : 40
            try await Cluster.with(hosts: ["producer", "worker"]) { cluster in
                let producer = try cluster.host("producer"), worker = try cluster.host("worker")
                let agent = try await cluster.startAgent(on: worker, queues: "build",
                                                         ["--rescan", "10m", "--no-fsync", "--wake-listen", worker.address])
                var latencies: [Double] = []
                for index in 0..<count {
                    let id = "woken-\(index)"
                    let sent = try await cluster.dz(on: producer, ["send", "noop", "--queue", "build", "--id", id,
                                                                   "--no-fsync"])
                    try #require(sent.succeeded, "dz send on the producer: \(sent.tail())")
                    var claimed: AuditTrail.Entry?
                    let seen = await Cluster.poll(timeout: 60, every: 0.01) {
                        claimed = AuditTrail(spools: [worker.spool]).events("claimed", queue: "build")
                            .first { $0["task"] == id }
                        return claimed != nil || !agent.isRunning
                    }
                    try #require(seen && claimed != nil,
                                 "\(id) was not claimed within 60 s (the rescan is 10 min): \(agent.errorTail)")
                    #expect(claimed?["host"] == worker.name)
                    let dropped = AuditTrail(spools: [producer.spool]).events("dropped", queue: "build")
                        .first { $0["task"] == id }
                    let droppedAt = try #require(dropped.flatMap { $0["ts"] }.flatMap { Timestamp(rfc3339: $0) })
                    let claimedAt = try #require(claimed.flatMap { $0["ts"] }.flatMap { Timestamp(rfc3339: $0) })
                    latencies.append(max(0, claimedAt - droppedAt))
                }
                latencies.sort()
                #expect(latencies.count == count)
                print("cluster pickup across hosts with wake-ups (rescan 10m, \(count) tasks): "
                      + String(format: "p50 %.1f ms, p99 %.1f ms, max %.1f ms",
                               Self.percentile(latencies, 0.5) * 1000, Self.percentile(latencies, 0.99) * 1000,
                               (latencies.last ?? 0) * 1000))
                agent.send(SIGTERM)
                #expect(await agent.waitForExit(timeout: 60))
            }
        }
    }
}
