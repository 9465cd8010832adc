@testable import DZJobs
import DZSpool
import DZStore
import DZTasks
import Testing

@Suite struct StepOutputsTests {
    /// An output the coordinator records (a started instance) that does not keep its task's contract is not
    /// recorded, and the job's log says so, rather than nothing.
    @Test func anOutputThatBreaksItsContractIsNotRecordedAndTheJobLogSaysWhy() throws {
        try withTemporaryZoomDB { db in
            let job = JobRecord(id: "j1", kind: "build_and_deploy", project: "shop", params: [:], issuedBy: nil,
                                issuedAt: .now())
            #expect(try db.insert(job))
            var step = StepRecord(job: "j1", name: "deploy.0", definition: "deploy", ordinal: 0, queue: "appserver_a",
                                  task: "deploy", taskID: "t1", taskFile: "{}", compensation: false, maxAttempts: 1,
                                  deadline: nil)
            step.output = ["instance": .string("i1"), "appserver": .string("a"), "address": .string("127.0.0.1"),
                           "port": .int(70000), "bundle": .string("b"), "project": .string("shop"),
                           "user": .string("dz_shop")]
            #expect(try StepOutputs.read(DeployTask.self, step, job, db) == nil)
            let lines = try db.logLines(of: "j1").map(\.message)
            #expect(lines.contains { $0.contains("deploy.0: its output was not recorded: port must be") }, "\(lines)")

            step.output?["port"] = .int(20001)
            #expect(try StepOutputs.read(DeployTask.self, step, job, db)?.port == 20001)
        }
    }
}
