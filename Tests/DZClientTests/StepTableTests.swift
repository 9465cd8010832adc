import DZClient
import DZStore
import DZSystem
import Testing

/// `dz job show`'s step table keeps its columns whatever a step's error holds, and loses none of it.
@Suite struct StepTableTests {
    func step(_ name: String, task: String = "deploy", state: StepRecord.State) -> StepRecord {
        var step = StepRecord(job: "J1", name: name, definition: name, ordinal: 0, queue: "appserver_a", task: task,
                              taskID: "J1." + name, taskFile: "{}", compensation: false, maxAttempts: 1, deadline: nil)
        step.state = state
        return step
    }

    @Test func aMultiLineErrorStaysOnItsRowAndIsPrintedWholeBelowTheTable() {
        var failed = step("health_check.0", task: "health_check", state: .failed)
        failed.errorKind = "health-check"
        failed.error = "GET / (Host: x.example) answered 500 for 60 s\nerror log:\nTraceback (most recent call last):\n"
            + "  File \"views.py\", line 3, in index\nZeroDivisionError: division by zero"
        let ok = step("deploy.0", state: .succeeded)
        let table = TextFormat.table(StepTable.rows([ok, failed]))
        let lines = table.split(separator: "\n")
        #expect(lines.count == 3, "a header and two rows: \(table)")
        #expect(lines[2].contains("health-check: GET / (Host: x.example) answered 500 for 60 s | error log: | "),
                "\(lines[2])")
        #expect(lines[2].hasSuffix("..."), "cut to its width")
        #expect(lines[2].count <= lines[0].count + StepTable.detailWidth)
        let below = StepTable.failures([ok, failed])
        #expect(below.hasPrefix("health_check.0 failed (health-check):\n    GET / (Host: x.example) answered 500"))
        #expect(below.contains("\n    ZeroDivisionError: division by zero\n"), "\(below)")
        #expect(StepTable.failures([ok]).isEmpty)
    }

    @Test func aStepThatSentNoTaskIsShownSkippedNotSucceeded() {
        var marker = step("drop_database", task: StepRecord.noTask, state: .succeeded)
        marker.output = ["skipped": .string("no items to fan out over")]
        #expect(marker.isSkipped && marker.shownState == "skipped")
        #expect(StepTable.rows([marker])[1][3] == "skipped")
        #expect(step("deploy.0", state: .succeeded).shownState == "succeeded")
    }
}
