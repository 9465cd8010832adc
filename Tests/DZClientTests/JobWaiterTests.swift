import DZClient
import DZJobs
import DZSpool
import DZStore
import DZSystem
import Foundation
import Synchronization
import Testing

/// Following a job through its published document, as `dz job wait`, `dz deploy` and every job command do.
@Suite struct JobWaiterTests {
    /// What a waiter saw.
    final class Seen: Sendable {
        let events = Mutex<[String]>([])
        func add(_ event: JobWaiter.Event) {
            events.withLock { events in
                switch event {
                case .waitingForCoordinator: events.append("waiting")
                case .update(let document): events.append(document.job.state.rawValue)
                }
            }
        }
        var all: [String] { events.withLock { $0 } }
    }

    @Test func followsTheDocumentUntilTheJobEnds() async throws {
        let scratch = try Scratch()
        let state = PublishedState(spool: scratch.spool)
        try scratch.publish(scratch.job("J1", state: .running, stepState: .dispatched))
        let seen = Seen()
        async let ended = JobWaiter(state: state, jobID: "J1").wait { seen.add($0) }
        // The coordinator's next write, once the waiter has seen the first.
        let sawRunning = await poll { seen.all.contains("running") }
        #expect(sawRunning)
        try scratch.publish(scratch.job("J1", state: .succeeded))
        let document = try await ended
        #expect(document.job.state == .succeeded)
        #expect(seen.all == ["running", "succeeded"])
    }

    @Test func aRequestStillInTheJobsQueueIsWaitedForThenFollowed() async throws {
        let scratch = try Scratch()
        let client = Client(spool: scratch.spool, environment: ["USER": "alice"])
        let id = try client.requests.submit("selftest", project: "shop", params: [:])
        let seen = Seen()
        async let ended = client.waiter(id).wait { seen.add($0) }
        let sawWaiting = await poll { seen.all == ["waiting"] }
        #expect(sawWaiting)
        try scratch.publish(scratch.job(id, state: .failed))
        let document = try await ended
        #expect(document.job.state == .failed && seen.all == ["waiting", "failed"])
        do {
            _ = try await client.waiter(id).run()
            Issue.record("a failed job must not be returned as succeeded")
        } catch let error as ClientError {
            guard case .jobDidNotSucceed(_, let summary) = error else { throw error }
            #expect(summary.hasPrefix("job \(id) failed in ") && summary.hasSuffix(": deploy failed: boom"), "\(summary)")
        }
    }

    @Test func aJobNeitherWaitingNorPublishedIsUnknown() async throws {
        let scratch = try Scratch()
        var waiter = JobWaiter(state: PublishedState(spool: scratch.spool), jobID: "J-unknown")
        waiter.unknownAfter = 0.2
        await #expect(throws: ClientError.notFound("no job J-unknown")) { try await waiter.wait() }
    }

    @Test func aJobStillRunningAtTheTimeLimitTimesOut() async throws {
        let scratch = try Scratch()
        try scratch.publish(scratch.job("J1", state: .running))
        let waiter = JobWaiter(state: PublishedState(spool: scratch.spool), jobID: "J1", timeout: 0.2)
        await #expect(throws: ClientError.timedOut("job J1 still running after 0 s")) { try await waiter.wait() }
    }

    @Test func progressLinesNameEachStepChangeThenTheOutcome() {
        var text = ""
        let printer = ProgressPrinter(mode: .lines) { text += $0 }
        let scratch = try? Scratch()
        guard let scratch else { return }
        let running = scratch.job("J1", state: .running, stepState: .dispatched)
        let at = Timestamp(nanoseconds: 1_700_000_000_000_000_000)
        printer.show(.update(running), now: at)
        printer.show(.update(running), now: at)
        let done = scratch.job("J1", state: .failed)
        printer.show(.update(done), now: at)
        printer.finish(done)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.count == 5, "\(text)")
        #expect(lines[0] == "\(at.rfc3339) checkout dispatched on builder")
        #expect(lines[2] == "\(at.rfc3339) checkout succeeded on builder")
        #expect(lines[4].hasPrefix("job J1 failed in ") && lines[4].hasSuffix(": deploy failed: boom"))

        // A step's error of several lines stays on its progress line; the summary carries it whole.
        var long = ""
        let printer2 = ProgressPrinter(mode: .lines) { long += $0 }
        var traced = scratch.job("J2", state: .failed, steps: ["health_check"], stepState: .failed)
        traced.steps[0].error = "answered 500\nerror log:\nTraceback (most recent call last):\n"
            + "  File \"/app/bundle/src/shop/views.py\", line 12, in index\nKeyError: 'x'"
        traced.job.error = "step health_check failed: health-check: " + (traced.steps[0].error ?? "")
        printer2.show(.update(traced), now: at)
        printer2.finish(traced)
        #expect(long.hasPrefix("\(at.rfc3339) health_check failed on builder: answered 500 | error log: | Trace"),
                "\(long)")
        #expect(long.components(separatedBy: "KeyError: 'x'").count == 2, "the traceback once, in the summary: \(long)")

        var quiet = ""
        let silent = ProgressPrinter(mode: .quiet) { quiet += $0 }
        silent.show(.waitingForCoordinator)
        silent.show(.update(done))
        silent.finish(done)
        #expect(quiet.isEmpty)
        #expect(ProgressPrinter.progressLine(running, now: running.job.issuedAt + 4.25)
                == "J1 [0/2] running running: checkout, deploy  4.3s")
    }

    /// Polls `condition` every 10 ms for up to 10 s.
    func poll(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<1000 {
            if condition() { return true }
            try? await Task.sleep(nanoseconds: 10_000_000)
        }
        return condition()
    }
}
