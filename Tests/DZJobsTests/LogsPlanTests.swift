import DZJobs
import DZSpool
import DZStore
import DZSystem
import Testing

/// The logs job driven by hand through the planner, and its report as `dz logs` reads it.
@Suite struct LogsPlanTests {
    let facts: [String: JSONValue] = [
        "instances": .object(["app1": .int(2), "app3": .int(1)]),
        "active": .array([
            .object(["appserver": .string("app1"), "instance": .string("b.app1.10001")]),
            .object(["appserver": .string("app3"), "instance": .string("b.app3.10001")]),
            .object(["appserver": .string("app1"), "instance": .string("b.app1.10002")]),
        ]),
    ]

    func plan(_ params: [String: JSONValue], steps: [StepRecord] = []) -> JobPlanner.Plan {
        let job = JobRecord(id: "J1", kind: "logs", project: "shop", params: params, issuedBy: nil, issuedAt: .now())
        return JobPlanner(kind: LogsJob.kind, queueWait: 60).plan(job, steps: steps, facts: facts)
    }

    func args(_ step: StepRecord) throws -> [String: JSONValue] {
        try TaskFile(parsing: Array(step.taskFile.utf8), stem: step.taskID).args
    }

    @Test func readsEveryAppserverAndTheProxyAtOnce() throws {
        let since: JSONValue = .object([
            "b.app1.10001.error.log": .object(["offset": .int(10), "inode": .int(7)]),
            "b.app3.10001.access.log": .int(5), "dz_shop.access.log": .int(99),
        ])
        let steps = plan(["lines": .string("20"), "since": since]).newSteps
        #expect(steps.map(\.name) == ["read_instance_logs.0", "read_instance_logs.1", "read_site_log.0"])
        #expect(steps.map(\.queue) == ["appserver_app1", "appserver_app3", "proxy"])
        #expect(Set(steps.map(\.task)) == ["read_logs"])
        let app1 = try args(steps[0])
        #expect(app1["instances"] == .array([.string("b.app1.10001"), .string("b.app1.10002")]))
        #expect(app1["source"] == .string("instances") && app1["lines"] == .int(20) && app1["project"] == .string("shop"))
        #expect(app1["since"] == .object(["b.app1.10001.error.log": .object(["offset": .int(10), "inode": .int(7)])]),
                "each task gets the positions of its own files")
        #expect(try args(steps[1])["since"] == .object(["b.app3.10001.access.log": .int(5)]))
        let site = try args(steps[2])
        #expect(site["source"] == .string("site") && site["since"] == .object(["dz_shop.access.log": .int(99)]))
        #expect(steps.allSatisfy { $0.maxAttempts == 2 })
    }

    @Test func oneInstanceLeavesOutTheOtherHostsAndTheSite() throws {
        let steps = plan(["instance": .string("b.app3.10001")]).newSteps
        let dispatched = steps.filter { $0.task == "read_logs" }
        #expect(dispatched.map(\.queue) == ["appserver_app3"])
        #expect(try args(dispatched[0])["instances"] == .array([.string("b.app3.10001")]))
        #expect(steps.contains { $0.definition == "read_site_log" && $0.task == JobPlanner.noTask })
    }

    @Test func anUnknownInstanceOrBadLinesFailTheJobAtOnce() {
        let unknown = plan(["instance": .string("b.app9.1")])
        #expect(unknown.job.stopping == .failing)
        #expect(unknown.job.error?.contains("project shop has no active instance b.app9.1") == true,
                "\(unknown.job.error ?? "")")
        #expect(unknown.newSteps.allSatisfy { $0.task != "read_logs" })
        for lines in ["0", "1001", "many"] {
            #expect(plan(["lines": .string(lines)]).job.error?.contains("lines must be") == true, "\(lines)")
        }
        #expect(plan(["since": .string("0")]).job.error?.contains("since must be an object") == true)
    }

    @Test func aSilentHostIsNamedAndTheOthersStillAnswer() throws {
        var steps = plan([:]).newSteps
        func finish(_ name: String, _ output: [String: JSONValue]?) {
            let index = steps.firstIndex { $0.name == name }!
            steps[index].state = output == nil ? .failed : .succeeded
            steps[index].output = output
            if output == nil { steps[index].errorKind = "deadline" }
        }
        finish("read_instance_logs.0", [
            "queue": .string("appserver_app1"), "source": .string("instances"), "missing": .array([.string("b.app1.10002")]),
            "files": .array([
                .object(["name": .string("b.app1.10001.error.log"), "instance": .string("b.app1.10001"),
                         "stream": .string("error"), "lines": .array([.string("hello: served")]),
                         "offset": .int(40), "inode": .int(3), "size": .int(40), "restarted": .bool(false),
                         "skipped_bytes": .int(0)]),
                .object(["name": .string("b.app1.10001.access.log"), "instance": .string("b.app1.10001"),
                         "stream": .string("access"), "error": .string("refused: a symbolic link")]),
            ]),
        ])
        finish("read_instance_logs.1", nil)
        finish("read_site_log.0", [
            "queue": .string("proxy"), "source": .string("site"), "missing": .array([]),
            "files": .array([.object(["name": .string("dz_shop.access.log"), "stream": .string("access"),
                                      "lines": .array([.string("GET / 200")]), "offset": .int(9), "inode": .int(5),
                                      "size": .int(9), "restarted": .bool(false), "skipped_bytes": .int(0)])]),
        ])
        let done = plan([:], steps: steps)
        #expect(done.job.state == .succeeded, "a failed read is a warning: \(done.job.error ?? "")")
        let result = try #require(done.job.result)
        #expect(result["unanswered"] == .array([.string("appserver_app3")]))
        #expect(result["missing"] == .array([.string("b.app1.10002")]))

        let report = LogsReport(result: result, project: "shop")
        #expect(report.labelledLines == ["app1/b.app1.10001 error | hello: served", "proxy/shop access | GET / 200"])
        #expect(report.files.first { $0.error != nil }?.label == "app1/b.app1.10001 access")
        let kept = LogsReport.Position(offset: 1, inode: 1, queue: "appserver_app3")
        let gone = LogsReport.Position(offset: 1, inode: 1, queue: "appserver_app1")
        let positions = report.positions(after: ["b.app3.10001.error.log": kept, "b.app1.10002.error.log": gone])
        #expect(positions == [
            "b.app3.10001.error.log": kept,
            "b.app1.10001.error.log": LogsReport.Position(offset: 40, inode: 3, queue: "appserver_app1"),
            "dz_shop.access.log": LogsReport.Position(offset: 9, inode: 5, queue: "proxy"),
        ], "a silent host's positions are kept, a stopped instance's forgotten")
        #expect(LogsReport.since(positions).objectValue?["dz_shop.access.log"]
            == .object(["offset": .int(9), "inode": .int(5)]))
    }

    @Test func aPartialResultHoldsWhatTheAnsweringHostsReturned() {
        var steps = plan([:]).newSteps
        let index = steps.firstIndex { $0.name == "read_site_log.0" }!
        steps[index].state = .succeeded
        steps[index].output = [
            "queue": .string("proxy"), "source": .string("site"), "missing": .array([]),
            "files": .array([.object(["name": .string("dz_shop.access.log"), "stream": .string("access"),
                                      "lines": .array([.string("GET / 200")]), "offset": .int(9), "inode": .int(5)])]),
        ]
        let job = JobRecord(id: "J1", kind: "logs", project: "shop", params: [:], issuedBy: nil, issuedAt: .now())
        let report = LogsReport(result: LogsJob.partialResult(job, steps: steps, facts: facts), project: "shop",
                                complete: false)
        #expect(report.labelledLines == ["proxy/shop access | GET / 200"])
        #expect(report.unanswered == ["appserver_app1", "appserver_app3"], "the appservers have not answered yet")
        #expect(!report.complete)
    }

    @Test func minusNIsTheNumberOfLinesInAllSharedAmongTheFiles() {
        func file(_ name: String, _ count: Int) -> JSONValue {
            .object(["name": .string(name), "queue": .string("appserver_app1"), "instance": .string("b.app1.10001"),
                     "stream": .string(name), "offset": .int(0),
                     "lines": .array((1...max(1, count)).prefix(count).map { .string("\(name) \($0)") })])
        }
        let report = LogsReport(result: ["files": .array([file("error", 30), file("access", 2), file("site", 30)])],
                                project: "shop")
        let limited = report.limited(toLines: 20)
        #expect(limited.labelledLines.count == 20)
        #expect(limited.files.map(\.lines.count) == [9, 2, 9], "what the short file leaves goes to the others")
        #expect(limited.files[0].lines.last == "error 30" && limited.files[0].lines.first == "error 22",
                "each file keeps its last lines")
        #expect(report.limited(toLines: 1000) == report, "fewer lines than asked: all of them")
        #expect(report.limited(toLines: 2).files.map(\.lines.count) == [1, 1, 0])
    }
}
