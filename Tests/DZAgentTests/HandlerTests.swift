@testable import DZAgent
import DZSpool
import Logging
import Testing

@Suite struct HandlerTests {
    func context(_ task: String, _ args: [String: JSONValue] = [:]) -> TaskContext {
        TaskContext(task: TaskFile(id: try! TaskID("t"), task: task, args: args), queue: try! QueueName("build"),
                    host: try! HostID("h"), logger: Logger(label: "test"))
    }

    @Test func standardRegistryKnowsTheSmokeHandlers() {
        #expect(HandlerRegistry.standard.names == ["echo", "fail", "noop", "sleep"])
    }

    @Test func echoReturnsItsArguments() async throws {
        let args: [String: JSONValue] = ["a": .int(1), "b": .array([.string("x")])]
        #expect(try await EchoHandler().run(context("echo", args)) == args)
    }

    @Test func failCarriesItsMessageAndRetryability() async {
        await #expect(throws: TaskFailure(kind: "failed", message: "nope", retryable: true)) {
            try await FailHandler().run(context("fail", ["message": .string("nope"), "retryable": .bool(true)]))
        }
    }

    @Test func sleepRejectsBadArguments() async {
        await #expect(throws: TaskFailure.badArgs("argument \"seconds\" must be a number")) {
            try await SleepHandler().run(context("sleep", ["seconds": .string("long")]))
        }
    }

    @Test func executeStopsAHandlerAtItsTimeLimit() async {
        let alarms = Alarms()
        let clock = Task { await alarms.run() }
        defer { clock.cancel() }
        let outcome = await Agent.execute(SleepHandler(), context("sleep", ["seconds": .int(30)]), timeout: 0.1,
                                          alarms: alarms)
        guard case .timedOut(let limit) = outcome else {
            Issue.record("expected a timeout, got \(outcome)")
            return
        }
        #expect(limit == 0.1)
    }

    @Test func executeReportsCancellation() async {
        let execution = Task {
            await Agent.execute(SleepHandler(), context("sleep", ["seconds": .int(30)]), timeout: 60, alarms: Alarms())
        }
        try? await Task.sleep(nanoseconds: 20_000_000)
        execution.cancel()
        guard case .cancelled = await execution.value else {
            Issue.record("expected cancellation")
            return
        }
    }
}
