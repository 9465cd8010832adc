@testable import DZJobs
import DZSpool
import DZStore
import DZSystem
import Foundation
import Logging
import Testing

/// The coordinator takes in results in batches: many results in one zoomdb transaction, their next steps dropped
/// together, each result retired only once its effect is committed; a batch that cannot be recorded records
/// nothing and puts every file back.
@Suite struct CoordinatorBatchIntakeTests {
    /// A spool and a zoomdb in a temporary directory, a coordinator engine on them (no loop: intake by hand), and
    /// a hand-played agent that answers every waiting task with a result in `results/new/`.
    final class Scratch {
        let directory: String
        let spool: Spool
        let engine: CoordinatorEngine

        init(catalog: JobCatalog = .standard) throws {
            directory = NSTemporaryDirectory() + "dz-batch-intake-" + UUID().uuidString
            spool = Spool(root: directory + "/spool", host: try HostID("coordinatorhost"), sync: false)
            try spool.initialize()
            engine = try CoordinatorEngine(spool: spool, configuration: CoordinatorConfiguration(
                databasePath: directory + "/zoomdb.sqlite3"), catalog: catalog, logger: Logger(label: "test"))
        }

        deinit { try? FileManager.default.removeItem(atPath: directory) }

        /// Submits a selftest job over two appservers and has the coordinator take the request in.
        func submit(_ params: [String: JSONValue] = [:]) throws -> String {
            let id = JobRequest.newJobID()
            let request = JobRequest.submit(id: id, kind: "selftest", project: "bench",
                                            params: ["appservers": .string("app1,app2")].merging(params) { $1 },
                                            issuedBy: "test")
            try spool.drop(try request.taskFile(host: try HostID("laptop")), into: .jobs)
            engine.handle(id + ".json", in: .jobs)
            return id
        }

        func names(_ queue: QueueName, _ stage: Spool.Stage) -> [String] {
            ((try? FileSystem.names(in: spool.path(queue, stage))) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        }

        /// Every name in the queue's day directories of `stage` (`done/`, `failed/`).
        func dayNames(_ queue: QueueName, _ stage: Spool.Stage) -> [String] {
            names(queue, stage).flatMap { day in
                ((try? FileSystem.names(in: spool.path(queue, stage) + "/" + day)) ?? []).filter { $0.hasSuffix(".json") }
            }.sorted()
        }

        /// Answers every task waiting in an agent's queue with a successful result (an `echo` task's output is its
        /// arguments, as the real handler's); the task files leave `new/`. Returns the results' file names. Only
        /// `queues` when given (the others have no agent); the task of step `failing` fails.
        func answerWaiting(only queues: [QueueName]? = nil, failing: String? = nil) throws -> [String] {
            var answered: [String] = []
            let queues = try queues ?? spool.queues().filter { $0 != .results && $0 != .jobs }
            for queue in queues {
                for name in names(queue, .new) where name.hasSuffix(".json") {
                    let path = spool.path(queue, .new) + "/" + name
                    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
                    let task = try TaskFile(parsing: bytes, stem: String(name.dropLast(5)))
                    let fails = failing != nil && task.step == failing
                    let result = ResultFile(task: task, queue: queue, status: fails ? .error : .ok,
                                            output: task.task == "echo" && !fails ? task.args : [:],
                                            error: fails ? .init(kind: "failed", message: "failed by the test") : nil,
                                            host: try HostID("handagent"), pid: 1, started: .now(), finished: .now())
                    let temporary = spool.path(.results, .tmp) + "/" + name
                    try Data(result.encoded()).write(to: URL(fileURLWithPath: temporary))
                    try FileSystem.rename(temporary, spool.path(.results, .new) + "/" + name)
                    try FileSystem.unlink(path)
                    answered.append(name)
                }
            }
            return answered.sorted()
        }

        func job(_ id: String) throws -> JobRecord { try #require(try engine.db.job(id)) }
    }

    @Test func manyResultsTakenInTogetherEachAdvanceTheirJobAndAreRetired() throws {
        let scratch = try Scratch()
        let ids = try (0..<5).map { _ in try scratch.submit() }
        var batches = 0
        while try ids.contains(where: { try scratch.job($0).state == .running }) {
            let results = try scratch.answerWaiting()
            try #require(!results.isEmpty, "jobs run but no task waits")
            scratch.engine.takeIn(results, in: .results)
            batches += 1
            // Retired only with their effect recorded: none left in new/ or cur/, each in done/.
            #expect(scratch.names(.results, .new).isEmpty)
            #expect(scratch.names(.results, .cur).isEmpty)
            #expect(Set(results).isSubset(of: Set(scratch.dayNames(.results, .done))))
            try #require(batches < 20, "the jobs do not end")
        }
        for id in ids {
            #expect(try scratch.job(id).state == .succeeded)
            let steps = try scratch.engine.db.steps(of: id)
            #expect(steps.count == 10, "\(steps.map(\.name))")
            #expect(steps.allSatisfy { $0.state == .succeeded && $0.dispatched != nil })
        }
        // Every step's task was dropped once: ten per job, all answered.
        #expect(scratch.dayNames(.results, .done).count == 5 * 10)
    }

    @Test func aResultSeenAgainInALaterBatchChangesNothingAndIsRetired() throws {
        let scratch = try Scratch()
        let id = try scratch.submit()
        let first = try scratch.answerWaiting()
        #expect(first == ["\(id).checkout.json"])
        let copy = try Data(contentsOf: URL(fileURLWithPath: scratch.spool.path(.results, .new) + "/" + first[0]))
        scratch.engine.takeIn(first, in: .results)
        let bundle = try #require(try scratch.engine.db.step(taskID: "\(id).bundle"))
        #expect(bundle.state == .dispatched)

        // The same result again (a coordinator killed after its commit, before the retire), in a batch with the
        // next one.
        let temporary = scratch.spool.path(.results, .tmp) + "/again"
        try copy.write(to: URL(fileURLWithPath: temporary))
        try FileSystem.rename(temporary, scratch.spool.path(.results, .new) + "/" + first[0])
        let second = try scratch.answerWaiting()
        #expect(second == ["\(id).bundle.json"])
        scratch.engine.takeIn(first + second, in: .results)

        let steps = try scratch.engine.db.steps(of: id)
        #expect(steps.filter { $0.definition == "checkout" }.count == 1)
        #expect(steps.first { $0.name == "bundle" }?.state == .succeeded)
        #expect(Set(steps.filter { $0.state == .dispatched }.map(\.name)) == ["create_database", "upload"])
        #expect(scratch.names(.results, .new).isEmpty && scratch.names(.results, .cur).isEmpty)
        // Each dropped once: the duplicate dropped nothing again.
        #expect(scratch.names(.build, .new) == ["\(id).upload.json"])
        #expect(scratch.names(.database, .new) == ["\(id).create_database.json"])
        let log = try scratch.engine.db.logLines(of: id).map(\.message)
        #expect(log.filter { $0.hasPrefix("checkout succeeded") }.count == 1, "\(log)")
    }

    /// A step's mark as dispatched is committed without an fsync (`ZoomDB.lightTransaction`): a power loss may take
    /// it back, leaving the step `dispatching` with its task in the spool. The next start finds the task there and
    /// marks the step without dropping it again, and the job goes on.
    @Test func aDispatchMarkTakenBackIsFoundInTheSpoolAtTheNextStartAndNotDroppedAgain() throws {
        let scratch = try Scratch()
        let id = try scratch.submit()
        var checkout = try #require(try scratch.engine.db.step(taskID: "\(id).checkout"))
        #expect(checkout.state == .dispatched)
        checkout.state = .dispatching
        checkout.dispatched = nil
        try scratch.engine.db.transaction { try scratch.engine.db.update(checkout) }

        // Waiting in new/: marked, not dropped a second time.
        try scratch.engine.recover()
        checkout = try #require(try scratch.engine.db.step(taskID: "\(id).checkout"))
        #expect(checkout.state == .dispatched && checkout.dispatched != nil)
        #expect(scratch.names(.build, .new) == ["\(id).checkout.json"], "dropped once")

        // Claimed by an agent already (out of new/, where a second drop would succeed): the same.
        let agent = Spool(root: scratch.spool.root, host: try HostID("agenthost"), sync: false)
        guard case .claimed = try agent.claim("\(id).checkout.json", in: .build, leaseSeconds: 60, settle: 0) else {
            Issue.record("the agent could not claim the task")
            return
        }
        checkout.state = .dispatching
        checkout.dispatched = nil
        try scratch.engine.db.transaction { try scratch.engine.db.update(checkout) }
        try scratch.engine.recover()
        #expect(try scratch.engine.db.step(taskID: "\(id).checkout")?.state == .dispatched)
        #expect(scratch.names(.build, .new).isEmpty, "not dropped again while an agent runs it")
    }

    /// A step fails while another of its job waits in a queue no agent serves: the waiting task is withdrawn and the
    /// job plans what comes next at once (its compensation, then its end) instead of waiting for a result that
    /// will never come (a release failing while its proxy is down waited on its stage_static).
    @Test func aFailureWithdrawsATaskNobodyServesAndTheJobEndsWithoutItsResult() throws {
        let scratch = try Scratch()
        let id = try scratch.submit()
        let build = try QueueName("build")
        #expect(try scratch.answerWaiting(only: [build]) == ["\(id).checkout.json"])
        scratch.engine.takeIn(["\(id).checkout.json"], in: .results)
        #expect(try scratch.answerWaiting(only: [build]) == ["\(id).bundle.json"])
        scratch.engine.takeIn(["\(id).bundle.json"], in: .results)
        #expect(scratch.names(.database, .new) == ["\(id).create_database.json"], "waits where no agent serves")

        #expect(try scratch.answerWaiting(only: [build], failing: "upload") == ["\(id).upload.json"])
        scratch.engine.takeIn(["\(id).upload.json"], in: .results)

        let steps = try scratch.engine.db.steps(of: id)
        let waiting = try #require(steps.first { $0.name == "create_database" })
        #expect(waiting.state == .cancelled && waiting.errorKind == "withdrawn")
        #expect(scratch.names(.database, .new).isEmpty, "taken out of the queue")
        #expect(scratch.dayNames(.database, .failed) == ["\(id).create_database.json"], "kept aside with its reason")
        let job = try scratch.job(id)
        #expect(job.state == .failed, "the job ended without the withdrawn step's result: \(job.state)")
        #expect(job.error?.contains("upload") == true)
    }

    /// A step that cannot start fails its job in the pass that made its sibling: the sibling, recorded but not yet
    /// dropped, is withdrawn with the rest and never reaches an agent, and the job ends.
    @Test func aSiblingMadeInThePassThatFailsTheJobIsNeverDropped() throws {
        let build = try QueueName("build")
        let kind = JobKind(name: "siblings", summary: "a step whose sibling cannot start", steps: [
            StepDefinition("first", task: "noop", queue: build),
            StepDefinition("sibling", after: ["first"], task: "noop", queue: build),
            StepDefinition("broken", after: ["first"], task: "noop", queue: build) { _ throws(JobError) in
                throw .missingOutput("broken on purpose")
            },
        ])
        let scratch = try Scratch(catalog: JobCatalog([kind]))
        let id = JobRequest.newJobID()
        try scratch.spool.drop(try JobRequest.submit(id: id, kind: "siblings", project: nil, params: [:], issuedBy: "test")
            .taskFile(host: try HostID("laptop")), into: .jobs)
        scratch.engine.handle(id + ".json", in: .jobs)
        #expect(try scratch.answerWaiting() == ["\(id).first.json"])
        scratch.engine.takeIn(["\(id).first.json"], in: .results)

        #expect(scratch.names(build, .new).isEmpty, "the sibling was not dropped: \(scratch.names(build, .new))")
        let sibling = try #require(try scratch.engine.db.step(taskID: "\(id).sibling"))
        #expect(sibling.state == .cancelled && sibling.errorKind == "withdrawn")
        let job = try scratch.job(id)
        #expect(job.state == .failed && job.error?.contains("broken on purpose") == true, "\(job)")
    }

    /// A batch of requests seen again (a coordinator killed after its commit, before the requests were retired):
    /// no job is submitted twice, no first step dropped twice, and the copies are retired.
    @Test func aBatchOfRequestsSeenAgainChangesNothingAndIsRetired() throws {
        let scratch = try Scratch()
        let laptop = try HostID("laptop")
        var names: [String] = []
        var copies: [String: Data] = [:]
        for _ in 0..<3 {
            let id = JobRequest.newJobID()
            let file = try JobRequest.submit(id: id, kind: "selftest", project: "bench", params: [:], issuedBy: "test")
                .taskFile(host: laptop)
            try scratch.spool.drop(file, into: .jobs)
            names.append(id + ".json")
            copies[id + ".json"] = try Data(contentsOf: URL(fileURLWithPath: scratch.spool.path(.jobs, .new) + "/" + id + ".json"))
        }
        #expect(scratch.engine.takeIn(requests: names, upTo: 10, for: 3600).isEmpty)
        #expect(scratch.names(.build, .new).count == 3)
        for (name, bytes) in copies {
            let temporary = scratch.spool.path(.jobs, .tmp) + "/" + name
            try bytes.write(to: URL(fileURLWithPath: temporary))
            try FileSystem.rename(temporary, scratch.spool.path(.jobs, .new) + "/" + name)
        }
        #expect(scratch.engine.takeIn(requests: names, upTo: 10, for: 3600).isEmpty)
        #expect(try scratch.engine.db.jobs().count == 3)
        #expect(scratch.names(.build, .new).count == 3, "no first step dropped twice")
        for name in names {
            let id = String(name.dropLast(5))
            #expect(try scratch.engine.db.steps(of: id).count == 1)
            #expect(try scratch.engine.db.logLines(of: id).filter { $0.message.hasPrefix("job selftest submitted") }.count == 1)
        }
        #expect(scratch.names(.jobs, .new).isEmpty && scratch.names(.jobs, .cur).isEmpty)
        #expect(scratch.dayNames(.jobs, .failed).isEmpty, "a copy is no error")
    }

    @Test func aBatchThatCannotBeRecordedRecordsNothingAndThenGoesOneFileAtATime() throws {
        let scratch = try Scratch()
        let ids = try (0..<4).map { _ in try scratch.submit() }
        let results = try scratch.answerWaiting()
        #expect(results.count == 4)
        // The last result's effect can never be recorded (as a zoomdb that refuses one row would).
        let poisoned = try #require(results.last)
        let poisonedTask = String(poisoned.dropLast(5))
        try scratch.engine.db.database.execute("""
            CREATE TEMP TRIGGER refuse BEFORE UPDATE ON steps WHEN NEW.task_id = '\(poisonedTask)'
            BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;
            """)

        scratch.engine.takeIn(results, in: .results)
        // All or nothing: every result is back in new/, no step recorded, no next task dropped.
        #expect(scratch.names(.results, .new) == results)
        #expect(scratch.names(.results, .cur).isEmpty)
        #expect(scratch.dayNames(.results, .done).isEmpty)
        for id in ids {
            #expect(try scratch.engine.db.step(taskID: "\(id).checkout")?.state == .dispatched)
        }
        #expect(scratch.names(.build, .new).isEmpty)

        // After the pause: one file at a time, so that the others are recorded and only the refused one waits.
        scratch.engine.intakePausedUntil = .distantPast
        scratch.engine.takeIn(results, in: .results)
        #expect(scratch.names(.results, .new) == [poisoned])
        #expect(scratch.dayNames(.results, .done) == Array(results.dropLast()))
        for id in ids {
            let checkout = try scratch.engine.db.step(taskID: "\(id).checkout")
            #expect(checkout?.state == (id + ".checkout" == poisonedTask ? .dispatched : .succeeded))
        }
        #expect(scratch.names(.build, .new).count == 3)

        // Once it can be recorded, it is; and batches come back.
        try scratch.engine.db.database.execute("DROP TRIGGER refuse")
        scratch.engine.intakePausedUntil = .distantPast
        scratch.engine.takeIn([poisoned], in: .results)
        #expect(scratch.names(.results, .new).isEmpty)
        #expect(try scratch.engine.db.step(taskID: poisonedTask)?.state == .succeeded)
        #expect(scratch.engine.intakeBackoff == 0)
    }

    @Test func whileResultsWaitATurnStartsOneNewJobAndPutsTheOtherRequestsBack() throws {
        let scratch = try Scratch()
        let inbox = CoordinatorInbox()
        scratch.engine.inbox = inbox
        let running = try scratch.submit()
        let result = try #require(try scratch.answerWaiting().first)
        var requests: [String] = []
        for _ in 0..<3 {
            let id = JobRequest.newJobID()
            let request = JobRequest.submit(id: id, kind: "selftest", project: "bench", params: [:], issuedBy: "test")
            try scratch.spool.drop(try request.taskFile(host: try HostID("laptop")), into: .jobs)
            requests.append(id + ".json")
            inbox.appeared(id + ".json", in: .jobs)
        }
        inbox.appeared(result, in: .results)
        let batch = inbox.take()
        #expect(batch.results == [result] && batch.requests == requests)
        // Another result arrives while the turn runs.
        let next = "\(running).bundle.json"
        inbox.appeared(next, in: .results)

        var pacing = RequestPacing()
        Coordinator.turn(scratch.engine, inbox, batch, &pacing)
        // The waiting result first: its job's next step is out.
        #expect(try scratch.engine.db.step(taskID: "\(running).checkout")?.state == .succeeded)
        #expect(try scratch.engine.db.step(taskID: "\(running).bundle")?.state == .dispatched)
        // Then one request only, since a result waits again; the others come back after that result.
        #expect(try scratch.engine.db.job(String(requests[0].dropLast(5))) != nil)
        #expect(try scratch.engine.db.job(String(requests[1].dropLast(5))) == nil)
        let after = inbox.take()
        #expect(after.results == [next])
        #expect(after.requests == Array(requests.dropFirst()))
    }

    @Test func aSweepWithAnInboxLeavesTheNamesToTheLoop() throws {
        let scratch = try Scratch()
        let inbox = CoordinatorInbox()
        scratch.engine.inbox = inbox
        let id = try scratch.submit()
        let result = try #require(try scratch.answerWaiting().first)
        let request = JobRequest.newJobID()
        try scratch.spool.drop(try JobRequest.submit(id: request, kind: "selftest", project: "bench", params: [:],
                                                     issuedBy: "test").taskFile(host: try HostID("laptop")),
                               into: .jobs)
        scratch.engine.sweep()
        let batch = inbox.take()
        #expect(batch.results == [result] && batch.requests == [request + ".json"])
        #expect(try scratch.engine.db.step(taskID: "\(id).checkout")?.state == .dispatched)
        #expect(try scratch.engine.db.job(request) == nil)
    }

    @Test func requestsAreTakenInForABoundedTimeAndTheRestReturnedInOrder() throws {
        let scratch = try Scratch()
        var names: [String] = []
        for _ in 0..<3 {
            let id = JobRequest.newJobID()
            let request = JobRequest.submit(id: id, kind: "selftest", project: "bench", params: [:], issuedBy: "test")
            try scratch.spool.drop(try request.taskFile(host: try HostID("laptop")), into: .jobs)
            names.append(id + ".json")
        }
        // No time at all: still one, so that requests always move.
        let rest = scratch.engine.takeIn(requests: names, upTo: 1, for: 0)
        #expect(rest == Array(names.dropFirst()))
        #expect(try scratch.engine.db.job(String(names[0].dropLast(5))) != nil)
        #expect(try scratch.engine.db.job(String(names[1].dropLast(5))) == nil)
        #expect(scratch.engine.takeIn(requests: rest, upTo: 10, for: 3600).isEmpty)
        #expect(try scratch.engine.db.jobs().count == 3)
    }

    /// A burst of requests is taken in by batches (one transaction, one drop round, one retirement each); in a
    /// batch, a file that is no request, a job of an unknown kind and a cancellation of no job are each refused
    /// alone, with their reasons, and every good one starts its job.
    @Test func requestsAreTakenInByBatchesAndABadOneIsRefusedAlone() throws {
        let scratch = try Scratch()
        let laptop = try HostID("laptop")
        var names: [String] = []
        var good: [String] = []
        for index in 0..<12 {
            let id = JobRequest.newJobID()
            let request: JobRequest = switch index {
            case 3: .submit(id: id, kind: "no_such_kind", project: "bench", params: [:], issuedBy: "test")
            case 7: .cancel(job: "J-nosuchjob", reason: "test")
            default: .submit(id: id, kind: "selftest", project: "bench", params: [:], issuedBy: "test")
            }
            var file = try request.taskFile(host: laptop)
            if index == 5 { file = TaskFile(id: file.id, task: "noop") }
            try scratch.spool.drop(file, into: .jobs)
            names.append(file.id.rawValue + ".json")
            if ![3, 5, 7].contains(index) { good.append(id) }
        }
        // The first batch only (no time for more): `requestBatchLimit` of them.
        let rest = scratch.engine.takeIn(requests: names, upTo: 100, for: 0)
        #expect(rest == Array(names.dropFirst(CoordinatorEngine.requestBatchLimit)))
        #expect(scratch.engine.takeIn(requests: rest, upTo: 100, for: 3600).isEmpty)

        for id in good {
            #expect(try scratch.engine.db.job(id)?.state == .running, "job \(id) started")
            #expect(try scratch.engine.db.step(taskID: "\(id).checkout")?.state == .dispatched)
        }
        #expect(scratch.names(.build, .new).count == good.count, "each good job's first step dropped")
        #expect(try scratch.engine.db.job(String(names[3].dropLast(5)))?.state == .failed, "unknown kind: failed")
        #expect(scratch.names(.jobs, .new).isEmpty && scratch.names(.jobs, .cur).isEmpty)
        #expect(Set(scratch.dayNames(.jobs, .failed)) == Set([names[3], names[5], names[7]]),
                "refused, each with its reason")
        #expect(scratch.dayNames(.jobs, .done).count == good.count)
    }
}

@Suite struct CoordinatorInboxOrderTests {
    @Test func namesComeOutOnceInTheOrderSeenAndRequestsWaitUntilTakenIn() {
        let inbox = CoordinatorInbox()
        inbox.appeared("a.json", in: .results)
        inbox.appeared("r1.json", in: .jobs)
        inbox.appeared("b.json", in: .results)
        inbox.appeared("a.json", in: .results)
        inbox.appeared("x.json", in: .build)
        var batch = inbox.take()
        #expect(batch.results == ["a.json", "b.json"])
        #expect(batch.requests == ["r1.json"])
        #expect(!batch.sweep && batch.scans.isEmpty)
        // The request waits until the loop says it took it in; the results are gone.
        #expect(inbox.take() == CoordinatorInbox.Batch(requests: ["r1.json"]))

        inbox.appeared("r2.json", in: .jobs)
        inbox.appeared("r1.json", in: .jobs)
        #expect(inbox.found(requests: ["r3.json", "r2.json"]) == ["r1.json", "r2.json", "r3.json"])
        inbox.sweep()
        inbox.scan(.results)
        batch = inbox.take()
        #expect(batch.requests == ["r1.json", "r2.json", "r3.json"])
        #expect(batch.sweep && batch.scans == [.results])

        inbox.tookIn(requests: 2)
        #expect(inbox.take().requests == ["r3.json"])
        // Taken in, a name may come again (a new file of that name) and waits again.
        inbox.appeared("r1.json", in: .jobs)
        inbox.tookIn(requests: 1)
        #expect(inbox.take().requests == ["r1.json"])
        inbox.tookIn(requests: 5)
        #expect(inbox.take().isEmpty)
    }

    @Test func aFinishedInboxTakesNothingMore() {
        let inbox = CoordinatorInbox()
        inbox.finish()
        inbox.appeared("a.json", in: .results)
        inbox.sweep()
        #expect(inbox.take().isEmpty)
    }
}

@Suite struct RequestPacingTests {
    @Test func heldBackTheNextChanceIsWhenTheLateBatchStopsCountingOrTheFloorIsDue() {
        let now = Timestamp.now()
        var pacing = RequestPacing()
        pacing.requestTakenIn(at: now)
        pacing.resultsTakenIn(delay: RequestPacing.target * 3, at: now)
        #expect(pacing.allowance(at: now, inFlight: 0) == .none)
        #expect(pacing.nextChance(after: now) == now + RequestPacing.target)
        // The late batch no longer counts: the window full, the floor's request is the next chance.
        let later = now + RequestPacing.target * 2
        #expect(pacing.allowance(at: later, inFlight: RequestPacing.largestWindow) == .none)
        #expect(pacing.nextChance(after: later) == now + RequestPacing.floor)
        #expect(pacing.allowance(at: now + RequestPacing.floor, inFlight: RequestPacing.largestWindow) == .one)
    }

    @Test func newJobsStartFreelyWhileResultsAreTakenInWithinTheTarget() {
        var pacing = RequestPacing()
        let now = Timestamp.now()
        #expect(pacing.allowance(at: now, inFlight: 0) == .upTo(RequestPacing.largestWindow))
        pacing.resultsTakenIn(delay: RequestPacing.target / 2, at: now)
        #expect(pacing.allowance(at: now, inFlight: 10) == .upTo(RequestPacing.largestWindow - 10))
    }

    @Test func behindOneRequestPerFloorUntilABatchIsWithinTheTargetAgain() {
        var pacing = RequestPacing()
        let now = Timestamp.now()
        pacing.resultsTakenIn(delay: RequestPacing.target * 3, at: now)
        // None for a while: one, then none until the floor has passed.
        #expect(pacing.allowance(at: now, inFlight: 0) == .one)
        pacing.requestTakenIn(at: now)
        pacing.resultsTakenIn(delay: RequestPacing.target * 2, at: now + 0.001)
        #expect(pacing.allowance(at: now + 0.002, inFlight: 0) == .none)
        pacing.resultsTakenIn(delay: RequestPacing.target * 2, at: now + RequestPacing.floor)
        #expect(pacing.allowance(at: now + RequestPacing.floor, inFlight: 0) == .one)
        // A batch within the target: caught up, with the window the late batches left.
        pacing.resultsTakenIn(delay: 0, at: now + RequestPacing.floor + 0.001)
        #expect(pacing.allowance(at: now + RequestPacing.floor + 0.001, inFlight: 0) == .upTo(pacing.window))
    }

    @Test func lateBatchesNarrowTheWindowOfStepsInFlightAndTimelyOnesWidenIt() {
        var pacing = RequestPacing()
        let now = Timestamp.now()
        for _ in 0..<20 { pacing.resultsTakenIn(delay: 1, at: now) }
        #expect(pacing.window == RequestPacing.smallestWindow)
        pacing.requestTakenIn(at: now)
        // No result for the target: not behind, but the steps in flight fill the window.
        #expect(pacing.allowance(at: now + RequestPacing.target, inFlight: RequestPacing.smallestWindow) == .none)
        #expect(pacing.allowance(at: now + RequestPacing.target, inFlight: 2)
            == .upTo(RequestPacing.smallestWindow - 2))
        pacing.resultsTakenIn(delay: 0, at: now)
        #expect(pacing.window == RequestPacing.smallestWindow + 1)
    }

    @Test func noResultForTheTargetMeansNotBehind() {
        var pacing = RequestPacing()
        let now = Timestamp.now()
        pacing.resultsTakenIn(delay: 1, at: now)
        pacing.requestTakenIn(at: now)
        #expect(pacing.allowance(at: now, inFlight: 0) == .none)
        #expect(pacing.allowance(at: now + RequestPacing.target, inFlight: 0) == .upTo(pacing.window))
    }
}
