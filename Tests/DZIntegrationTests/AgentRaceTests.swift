import DZSpool
import Foundation
import Testing

extension Integration {
    /// Several real agents racing over one queue: every task runs exactly once, none is lost.
    @Suite(.serialized) struct AgentRaceTests {
        static let taskCount = 5_000
        static let agentCount = 4

        @Test(.timeLimit(.minutes(5)))
        func fourAgentsRunEachOfFiveThousandTasksExactlyOnce() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let dropper = Spool(root: spool.root, host: try HostID("dropper"), sync: false)
            var ids = Set<String>()
            func dropTasks(_ count: Int) throws { ids.formUnion(try spool.dropTasks(count, by: dropper)) }

            // Half waits before the agents start (their first scans race each other), half arrives while they
            // run (inotify events, and rescans, race the claims).
            try dropTasks(Self.taskCount / 2)
            var agents: [DZProcess] = []
            for number in 1...Self.agentCount {
                agents.append(try await spool.startAgent(
                    host: "racer\(number)", ["--concurrency", "4", "--no-fsync", "--rescan", "1s"]))
            }
            try dropTasks(Self.taskCount - Self.taskCount / 2)
            #expect(ids.count == Self.taskCount)

            let settled = await waitUntil(timeout: 120, every: 0.05) {
                spool.dayFiles("build", "done").count + spool.dayFiles("build", "failed").count >= Self.taskCount
                    && spool.names("build", "new").isEmpty && spool.names("build", "cur").isEmpty
            }
            try #require(settled, """
                the agents did not settle \(Self.taskCount) tasks within 120 s: done \
                \(spool.dayFiles("build", "done").count), new \(spool.names("build", "new").count), cur \
                \(spool.names("build", "cur").count)
                \(agents.map(\.errorTail).joined(separator: "\n"))
                """)

            await spool.terminate(agents)

            // Every id exactly once in done/, no `~2` copy.
            let done = spool.dayNames("build", "done")
            #expect(done.count == Self.taskCount)
            #expect(done.filter { $0.contains("~") }.isEmpty, "duplicates in done/: \(done.filter { $0.contains("~") }.prefix(5))")
            #expect(Set(done.map { String($0.dropLast(5)) }) == ids)

            // Nothing left behind or failed.
            #expect(spool.names("build", "new").isEmpty)
            #expect(spool.names("build", "cur").isEmpty)
            #expect(spool.dayFiles("build", "failed").isEmpty, "failed: \(spool.dayFiles("build", "failed").prefix(5))")

            // Exactly one result per id, and the work spread over more than one agent.
            let resultNames = spool.names("results", "new")
            #expect(resultNames.count == Self.taskCount)
            #expect(Set(resultNames.map { String($0.dropLast(5)) }) == ids)
            var hosts: [String: Int] = [:]
            for name in resultNames {
                guard let result = try spool.result(String(name.dropLast(5))) else { continue }
                #expect(result.status == .ok && result.id.rawValue + ".json" == name, "result \(name)")
                hosts[result.host.rawValue, default: 0] += 1
            }
            #expect(hosts.count > 1, "every task ran on one agent: \(hosts)")
            print("AgentRaceTests: tasks per agent \(hosts.sorted { $0.key < $1.key })")

            // The audit logs say `finished` exactly once per id.
            var finished: [String: Int] = [:]
            for record in spool.records(event: "finished") { finished[record["task"] ?? "", default: 0] += 1 }
            #expect(Set(finished.keys) == ids)
            let repeated = finished.filter { $0.value != 1 }
            let histories = repeated.keys.prefix(3).map { id in
                spool.auditRecords().filter { $0["task"] == id }.map(\.line).joined(separator: "\n")
            }
            #expect(repeated.isEmpty, "finished more than once: \(repeated.prefix(5))\n\(histories.joined(separator: "\n--\n"))")
        }
    }
}
