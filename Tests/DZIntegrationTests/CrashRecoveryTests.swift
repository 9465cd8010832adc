import DZSpool
import Foundation
import Testing

extension Integration {
    /// An agent SIGKILLed while it holds a claim: the task is taken back and completed, once.
    @Suite(.serialized) struct CrashRecoveryTests {
        /// Starts an agent, sends a `sleep` task, waits until that agent holds the claim, and SIGKILLs it.
        /// Returns the task id and the dead agent's pid.
        private func claimAndKill(_ spool: TestSpool, host: String, lease: String) async throws -> (String, Int32) {
            let agent = try await spool.startAgent(host: host, ["--lease", lease, "--rescan", "200ms"])
            // Long enough that the holder cannot finish between the claim and the kill, even on a busy machine.
            let id = try await spool.send("sleep", "--arg", "seconds=3", "--backoff", "100ms")
            let claimPrefix = "\(id)@\(host)@\(agent.pid)@"
            let claimed = await waitUntil(timeout: 60) {
                spool.names("build", "cur").contains { $0.hasPrefix(claimPrefix) }
            }
            try #require(claimed, "agent \(host) never claimed \(id): cur \(spool.names("build", "cur"))\n\(agent.errorTail)")
            agent.kill()
            try #require(try spool.result(id) == nil, "agent \(host) finished \(id) before it was killed")
            try #require(spool.names("build", "cur").contains { $0.hasPrefix(claimPrefix) },
                         "the claim of the killed agent is gone: \(spool.names("build", "cur"))")
            return (id, agent.pid)
        }

        @Test(.timeLimit(.minutes(3)))
        func killedAgentsTaskIsReapedAndCompletedByAnotherHost() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let (id, deadPID) = try await claimAndKill(spool, host: "hostA", lease: "2s")

            let agentB = try await spool.startAgent(host: "hostB", ["--lease", "2s", "--rescan", "200ms"])
            let completed = await waitUntil(timeout: 60) { spool.isSettled(id) }
            try #require(completed, "hostB did not complete \(id)\n\(agentB.errorTail)")

            let result = try #require(try spool.result(id))
            #expect(result.status == .ok)
            #expect(result.attempt == 2)
            #expect(result.host.rawValue == "hostB")
            #expect(result.pid == agentB.pid)

            let reaped = spool.records(event: "reaped", task: id)
            #expect(reaped.count == 1, "reaped lines: \(reaped)")
            #expect(reaped.first?["host"] == "hostB")
            #expect(reaped.first?["reason"] == "lease-expired")
            #expect(reaped.first?["holder"] == "hostA/\(deadPID)")
            #expect(spool.records(event: "finished", task: id).count == 1)
            #expect(spool.dayNames("build", "done") == [id + ".json"])
            #expect(spool.names("build", "cur").isEmpty)
            #expect(spool.names("build", "new").isEmpty)
        }

        /// The same host id restarted (a new pid): the dead pid's claim is taken back at once, without waiting
        /// for its 60 s lease, and run again as attempt 2.
        @Test(.timeLimit(.minutes(3)))
        func restartedAgentTakesBackItsDeadPredecessorsClaimAtOnce() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let (id, deadPID) = try await claimAndKill(spool, host: "hostA", lease: "60s")

            let restarted = try await spool.startAgent(host: "hostA", ["--lease", "60s", "--rescan", "200ms"])
            // Well inside the dead claim's lease (60 s + 2 s skew): only the dead-pid rule can explain it.
            let completed = await waitUntil(timeout: 45) { spool.isSettled(id) }
            try #require(completed, "the restarted agent did not take back \(id) within its lease\n\(restarted.errorTail)")

            let result = try #require(try spool.result(id))
            #expect(result.status == .ok)
            #expect(result.attempt == 2)
            #expect(result.host.rawValue == "hostA")
            #expect(result.pid == restarted.pid)

            let reaped = spool.records(event: "reaped", task: id)
            #expect(reaped.count == 1, "reaped lines: \(reaped)")
            #expect(reaped.first?["reason"] == "holder-died")
            #expect(reaped.first?["holder"] == "hostA/\(deadPID)")
            #expect(reaped.first?["pid"] == String(restarted.pid))
            #expect(spool.dayNames("build", "done") == [id + ".json"])
            #expect(spool.names("build", "cur").isEmpty)
        }
    }
}
