import DZJobs
import DZSpool
import DZStore
import DZSystem
import Foundation
import Testing

/// The manage job driven by hand through the planner: which instance, which queue, which arguments; and how its
/// recording turns a command's exit status into the step's verdict, with the output in the job's log.
@Suite struct ManagePlanTests {
    let facts: [String: JSONValue] = [
        "active": .array([
            .object(["appserver": .string("app1"), "instance": .string("b1.app1.10001")]),
            .object(["appserver": .string("app3"), "instance": .string("b1.app3.10002")]),
        ]),
    ]

    func plan(_ params: [String: JSONValue], facts: [String: JSONValue]? = nil) -> JobPlanner.Plan {
        let job = JobRecord(id: "J7", kind: "manage", project: "shop", params: params, issuedBy: nil, issuedAt: .now())
        return JobPlanner(kind: ManageJob.kind, queueWait: 60).plan(job, steps: [], facts: facts ?? self.facts)
    }

    func args(_ step: StepRecord) throws -> [String: JSONValue] {
        try TaskFile(parsing: Array(step.taskFile.utf8), stem: step.taskID).args
    }

    @Test func runsOnTheFirstInstanceOnceOnItsAppserversQueue() throws {
        let planned = plan(["argv": .array([.string("greet"), .string("--exit-code"), .string("3")])])
        let step = try #require(planned.newSteps.first)
        #expect(planned.newSteps.count == 1)
        #expect(step.task == "managepy" && step.queue == "appserver_app1" && step.maxAttempts == 1)
        let args = try args(step)
        #expect(args["project"] == .string("shop") && args["instance"] == .string("b1.app1.10001"))
        #expect(args["argv"] == .array([.string("greet"), .string("--exit-code"), .string("3")]))
        #expect(args["timeout_s"]?.doubleValue == 3585, "a little less than the task's hour")
        #expect(args["script"] == nil)
    }

    @Test func theInstanceParameterPicksAnotherAndArgvMayBeJSONText() throws {
        let planned = plan(["argv": .string("[\"check\", \"--deploy\"]"), "instance": .string("b1.app3.10002"),
                            "timeout_s": .string("20")])
        let step = try #require(planned.newSteps.first)
        #expect(step.queue == "appserver_app3")
        let args = try args(step)
        #expect(args["argv"] == .array([.string("check"), .string("--deploy")]))
        #expect(args["timeout_s"]?.doubleValue == 12, "the command stops before the 20 s task limit")
        let task = try TaskFile(parsing: Array(step.taskFile.utf8), stem: step.taskID)
        #expect(task.timeoutSeconds == 20)
    }

    @Test func aScriptGoesAsItIs() throws {
        let step = try #require(plan(["script": .string("print(6*7)\n")]).newSteps.first)
        #expect(try args(step)["script"] == .string("print(6*7)\n"))
    }

    @Test func badParametersOrNoInstanceFailTheJobBeforeAnythingRuns() {
        let cases: [([String: JSONValue], [String: JSONValue]?, String)] = [
            ([:], nil, "argv"),
            (["argv": .array([.string("check")]), "script": .string("x")], nil, "not both"),
            (["argv": .string("check; rm -rf /")], nil, "JSON array"),
            (["argv": .int(3)], nil, "JSON array"),
            (["script": .array([])], nil, "string"),
            (["argv": .array([.string("check")]), "instance": .string("b1.app9.1")], nil, "no running instance"),
            (["argv": .array([.string("check")])], ["active": .array([])], "deploy it first"),
        ]
        for (params, facts, expected) in cases {
            let planned = plan(params, facts: facts)
            #expect(planned.newSteps.isEmpty, "\(params)")
            #expect(planned.job.stopping == .failing)
            #expect(planned.job.error?.contains(expected) == true, "\(params): \(planned.job.error ?? "")")
        }
    }

    @Test func theRecordingLogsTheOutputAndFailsOnANonZeroStatus() throws {
        var template = Array("/tmp/dz-manage-XXXXXX".utf8CString)
        let directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let db = try ZoomDB(path: directory + "/zoomdb.sqlite3")
        let job = JobRecord(id: "J8", kind: "manage", project: "shop", params: [:], issuedBy: nil, issuedAt: .now())
        #expect(try db.insert(job))
        let definition = try #require(ManageJob.kind.step("managepy"))
        let record = try #require(definition.onSuccess)
        var step = StepRecord(job: "J8", name: "managepy", definition: "managepy", ordinal: 0, queue: "appserver_app1",
                              task: "managepy", taskID: "J8.managepy", taskFile: "{}", compensation: false,
                              maxAttempts: 1, deadline: nil)
        step.output = ["ending": .string("exited"), "exit_code": .int(3), "stdout": .string("greetings: 0\n"),
                       "stderr": .string("greet: done\n"), "command": .string("manage.py greet"),
                       "instance": .string("b1.app1.10001"), "truncated": .bool(false)]
        #expect(throws: StepFailure(kind: "exit-status",
                                    message: "manage.py greet on b1.app1.10001 exited with status 3")) {
            try record(job, step, db)
        }
        let lines = try db.logLines(of: "J8").map { "\($0.level.rawValue) \($0.message)" }
        #expect(lines == ["info stdout: greetings: 0", "warn stderr: greet: done"])

        step.output?["exit_code"] = .int(0)
        try record(job, step, db)
        step.output?["ending"] = .string("timed-out")
        step.output?["exit_code"] = .null
        #expect(throws: StepFailure.self) { try record(job, step, db) }
    }

    @Test func theCommandStatusIsItsExitStatusOrTheShellsForASignal() {
        #expect(ManageJob.commandStatus(["ending": .string("exited"), "exit_code": .int(3)]) == 3)
        #expect(ManageJob.commandStatus(["ending": .string("exited"), "exit_code": .int(0)]) == 0)
        #expect(ManageJob.commandStatus(["ending": .string("signalled"), "signal": .int(9)]) == 137)
        #expect(ManageJob.commandStatus(["ending": .string("timed-out"), "exit_code": .null]) == nil)
        #expect(ManageJob.commandStatus([:]) == nil)
    }
}
