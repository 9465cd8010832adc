@testable import DZAgent
import DZSpool
import DZSystem
import Testing

@Suite struct RunningTasksTests {
    static func claim(_ id: String) throws -> Claim {
        let name = ClaimName(id: try TaskID(id), host: try HostID("h"), pid: 1, leaseSeconds: 30, serial: 1)
        return Claim(queue: try QueueName("build"), name: name, task: TaskFile(id: try TaskID(id), task: "noop"),
                     path: "/spool/build/cur/" + name.fileName, claimed: .now())
    }

    /// A handler that has ended moves its own file out of cur/: the renewals must not take that for a lost lease
    /// (the agent once logged "lease lost" for tasks it had just finished).
    @Test func aClaimWhoseHandlerEndedIsNoLongerRenewedNorRunning() throws {
        let running = RunningTasks()
        let ended = try Self.claim("t1")
        let going = try Self.claim("t2")
        running.insert(ended)
        running.insert(going)
        #expect(running.isRunning(ended) && running.isRunning(going))
        #expect(running.beginSettling(ended) == nil)
        #expect(!running.isRunning(ended) && running.isRunning(going))
        #expect(running.renewable.map(\.path) == [going.path])
        #expect(running.count == 2, "a settling claim still counts as running until it is settled")
        running.remove(ended)
        #expect(!running.isRunning(ended))
    }

    @Test func settlingReportsWhyAStoppedClaimWasStopped() throws {
        let running = RunningTasks()
        let claim = try Self.claim("t3")
        running.insert(claim)
        running.stop(claim, .leaseLost)
        #expect(running.beginSettling(claim) == .leaseLost)
    }
}
