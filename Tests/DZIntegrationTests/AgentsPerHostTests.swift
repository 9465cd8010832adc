import DZSpool
import Foundation
import Testing

extension Integration {
    /// Several real agents of one host serving one queue with fsync on (group commit of their directory fsyncs):
    /// no task lost, none run twice, and each agent takes the names it runs in order.
    @Suite(.serialized) struct AgentsPerHostTests {
        static let taskCount = 400
        static let agentCount = 4

        @Test(.timeLimit(.minutes(5)))
        func agentsOfOneHostWithFsyncRunEachTaskOnceAndEachInNameOrder() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let dropper = Spool(root: spool.root, host: try HostID("dropper"), sync: true)
            var ids: [String] = []
            // Each task keeps its handler busy for 10 ms: an agent whose one worker is free keeps the host's turn
            // (a noop's handler ends before the next name is looked at, so one agent could rightly run them all),
            // a busy one hands it over, which is what makes the four share.
            func dropTasks(_ count: Int) throws {
                ids += try spool.dropTasks(count, by: dropper, task: "sleep", args: ["seconds": .double(0.01)])
            }

            // Half waits before the agents start, half arrives while they run. One host id for all four: one
            // machine's agents. --concurrency 1, so that each agent's audit lines are in the order it claimed.
            try dropTasks(Self.taskCount / 2)
            var agents: [DZProcess] = []
            for _ in 1...Self.agentCount {
                agents.append(try await spool.startAgent(host: "shared", ["--concurrency", "1", "--rescan", "1s"]))
            }
            try dropTasks(Self.taskCount - Self.taskCount / 2)
            #expect(Set(ids).count == Self.taskCount)

            let settled = await waitUntil(timeout: 240, every: 0.1) {
                spool.names("results", "new").count >= Self.taskCount
                    && spool.names("build", "new").isEmpty && spool.names("build", "cur").isEmpty
            }
            try #require(settled, """
                the agents did not settle \(Self.taskCount) tasks within 240 s: results \
                \(spool.names("results", "new").count), new \(spool.names("build", "new").count), cur \
                \(spool.names("build", "cur").count)
                \(agents.map(\.errorTail).joined(separator: "\n"))
                """)
            await spool.terminate(agents)

            // Every id once in done/ and once in results, nothing failed or left.
            let done = spool.dayNames("build", "done")
            #expect(done.count == Self.taskCount)
            #expect(Set(done.map { String($0.dropLast(5)) }) == Set(ids))
            #expect(Set(spool.names("results", "new").map { String($0.dropLast(5)) }) == Set(ids))
            #expect(spool.dayFiles("build", "failed").isEmpty, "failed: \(spool.dayFiles("build", "failed").prefix(5))")

            // Claimed and finished exactly once per id, by the audit logs.
            var claimed: [String: Int] = [:]
            for record in spool.records(event: "claimed") { claimed[record["task"] ?? "", default: 0] += 1 }
            #expect(claimed.filter { $0.value != 1 }.isEmpty, "claimed more than once: \(claimed.filter { $0.value != 1 }.prefix(5))")
            var finished: [String: Int] = [:]
            for record in spool.records(event: "finished") { finished[record["task"] ?? "", default: 0] += 1 }
            #expect(Set(finished.keys) == Set(ids))
            #expect(finished.filter { $0.value != 1 }.isEmpty, "finished more than once: \(finished.filter { $0.value != 1 }.prefix(5))")

            // FIFO by name per agent: the ids each agent claimed, in the order it claimed them, rise.
            var byAgent: [String: [String]] = [:]
            for record in spool.records(event: "claimed") where record["queue"] == "build" {
                byAgent[record["pid"] ?? "", default: []].append(record["task"] ?? "")
            }
            #expect(byAgent.count > 1, "every task ran on one agent: \(byAgent.mapValues(\.count))")
            for (pid, claims) in byAgent {
                let outOfOrder = zip(claims, claims.dropFirst()).filter { $0.0 >= $0.1 }
                #expect(outOfOrder.isEmpty, "agent \(pid) claimed out of name order: \(outOfOrder.prefix(3))")
            }
            print("AgentsPerHostTests: tasks per agent \(byAgent.mapValues(\.count).sorted { $0.key < $1.key })")
        }
    }
}
