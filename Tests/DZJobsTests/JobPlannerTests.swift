import DZJobs
import DZSpool
import DZStore
import DZSystem
import Testing

/// The planner driven by hand: each test plays the coordinator, applying plans and reporting step outcomes.
@Suite struct JobPlannerTests {
    let planner = JobPlanner(kind: SelftestJob.kind, queueWait: 60)

    func newJob(_ params: [String: JSONValue] = [:]) -> JobRecord {
        JobRecord(id: "J1", kind: "selftest", project: "demo", params: params, issuedBy: nil, issuedAt: .now())
    }

    /// Applies plans until nothing new happens; returns the job and all steps.
    func settle(_ job: JobRecord, _ steps: [StepRecord]) -> (JobRecord, [StepRecord]) {
        HandCoordinator(planner: planner).settle(job, steps)
    }

    func report(_ steps: inout [StepRecord], _ name: String, _ state: StepRecord.State,
                output: [String: JSONValue] = [:])
    {
        guard let index = steps.firstIndex(where: { $0.name == name }) else {
            Issue.record("no step \(name)")
            return
        }
        steps[index].state = state
        steps[index].output = output
        if state == .failed { steps[index].errorKind = "failed"; steps[index].error = "boom" }
    }

    func running(_ steps: [StepRecord]) -> [String] {
        steps.filter { $0.state == .dispatched }.map(\.name).sorted()
    }

    @Test func graphFansOutAndJoins() {
        var (job, steps) = settle(newJob(["appservers": .string("a,b")]), [])
        #expect(running(steps) == ["checkout"])
        report(&steps, "checkout", .succeeded)
        (job, steps) = settle(job, steps)
        report(&steps, "bundle", .succeeded)
        (job, steps) = settle(job, steps)
        #expect(running(steps) == ["create_database", "upload"])
        report(&steps, "upload", .succeeded)
        (job, steps) = settle(job, steps)
        #expect(running(steps) == ["create_database"], "placement waits for both")
        report(&steps, "create_database", .succeeded)
        (job, steps) = settle(job, steps)
        let placement = steps.first { $0.name == "placement" }!
        let args = try! TaskFile(parsing: Array(placement.taskFile.utf8), stem: placement.taskID).args
        report(&steps, "placement", .succeeded, output: args)
        (job, steps) = settle(job, steps)
        #expect(running(steps) == ["deploy.0", "deploy.1"])
        #expect(steps.filter { $0.definition == "deploy" }.map(\.queue) == ["appserver_a", "appserver_b"])
        report(&steps, "deploy.0", .succeeded, output: ["appserver": .string("a")])
        report(&steps, "deploy.1", .succeeded, output: ["appserver": .string("b")])
        (job, steps) = settle(job, steps)
        #expect(steps.first { $0.name == "post_deploy_hooks" }?.queue == "appserver_a")
        for name in ["post_deploy_hooks", "proxy_update", "retire_old"] {
            report(&steps, name, .succeeded)
            (job, steps) = settle(job, steps)
        }
        #expect(job.state == .succeeded)
        #expect(job.result == ["appservers": .array([.string("a"), .string("b")])])
        #expect(!steps.contains { $0.compensation })
    }

    @Test func taskFilesCarryJobStepAndPolicy() throws {
        let (_, steps) = settle(newJob(["timeout_s": .string("7"), "max_attempts": .int(4)]), [])
        let checkout = try #require(steps.first)
        let task = try TaskFile(parsing: Array(checkout.taskFile.utf8), stem: checkout.taskID)
        #expect(task.id.rawValue == "J1.checkout")
        #expect(task.job == "J1")
        #expect(task.step == "checkout")
        #expect(task.timeoutSeconds == 7)
        #expect(task.maxAttempts == 4)
        #expect(checkout.deadline! > .now() + 60)
    }

    @Test func failedStepStopsTheJobAndRunsCompensationAfterRunningStepsEnd() {
        var (job, steps) = settle(newJob(["appservers": .string("a,b")]), [])
        for name in ["checkout", "bundle"] {
            report(&steps, name, .succeeded)
            (job, steps) = settle(job, steps)
        }
        report(&steps, "create_database", .succeeded)
        report(&steps, "upload", .succeeded)
        (job, steps) = settle(job, steps)
        report(&steps, "placement", .succeeded, output: ["appservers": .array([.string("a"), .string("b")])])
        (job, steps) = settle(job, steps)
        report(&steps, "deploy.0", .succeeded, output: ["appserver": .string("a")])
        report(&steps, "deploy.1", .failed)
        (job, steps) = settle(job, steps)
        #expect(job.stopping == .failing)
        #expect(job.state == .running, "waits for its compensation")
        let undo = steps.filter(\.compensation)
        #expect(undo.map(\.queue) == ["appserver_a"], "only the instance that came up is stopped")
        #expect(!steps.contains { $0.name == "post_deploy_hooks" })
        report(&steps, undo[0].name, .succeeded)
        (job, steps) = settle(job, steps)
        #expect(job.state == .failed)
        #expect(job.error?.contains("deploy.1") == true)
    }

    @Test func warningStepDoesNotFailTheJob() {
        var (job, steps) = settle(newJob(), [])
        for name in ["checkout", "bundle", "create_database", "upload"] {
            report(&steps, name, .succeeded)
            (job, steps) = settle(job, steps)
        }
        report(&steps, "placement", .succeeded, output: ["appservers": .array([.string("a")])])
        (job, steps) = settle(job, steps)
        for name in ["deploy.0", "post_deploy_hooks", "proxy_update"] {
            report(&steps, name, .succeeded, output: ["appserver": .string("a")])
            (job, steps) = settle(job, steps)
        }
        report(&steps, "retire_old", .failed)
        (job, steps) = settle(job, steps)
        #expect(job.state == .succeeded)
    }

    @Test func cancellingWaitsForRunningStepsThenCancels() {
        var (job, steps) = settle(newJob(), [])
        job.stopping = .cancelling
        (job, steps) = settle(job, steps)
        #expect(job.state == .running, "checkout still runs")
        report(&steps, "checkout", .cancelled)
        (job, steps) = settle(job, steps)
        #expect(job.state == .cancelled)
        #expect(steps.contains { $0.compensation && $0.task == JobPlanner.noTask }, "nothing was deployed to stop")
    }

    @Test func placementWithNoAppserversFailsTheJob() {
        var (job, steps) = settle(newJob(), [])
        for name in ["checkout", "bundle", "create_database", "upload"] {
            report(&steps, name, .succeeded)
            (job, steps) = settle(job, steps)
        }
        report(&steps, "placement", .succeeded, output: [:])
        (job, steps) = settle(job, steps)
        #expect(job.state == .failed)
        #expect(job.error?.contains("placement chose no appservers") == true)
    }

    @Test func kindsAreValidated() throws {
        try SelftestJob.kind.validate()
        let cyclic = JobKind(name: "bad", summary: "", steps: [
            StepDefinition("a", after: ["b"], task: "noop", queue: try QueueName("build")),
            StepDefinition("b", after: ["a"], task: "noop", queue: try QueueName("build")),
        ])
        #expect(throws: JobError.self) { try cyclic.validate() }
        let unknown = JobKind(name: "bad", summary: "", steps: [
            StepDefinition("a", after: ["zz"], task: "noop", queue: try QueueName("build")),
        ])
        #expect(throws: JobError.self) { try unknown.validate() }
    }

    @Test func requestsRoundTripThroughTaskFiles() throws {
        let host = try HostID("h")
        let submit = JobRequest.submit(id: JobRequest.newJobID(), kind: "selftest", project: "demo",
                                       params: ["k": .string("v")], issuedBy: "me")
        #expect(try JobRequest(try submit.taskFile(host: host)) == submit)
        let cancel = JobRequest.cancel(job: "J1", reason: "why")
        #expect(try JobRequest(try cancel.taskFile(host: host)) == cancel)
        #expect(ProjectID.isValid("my_app2"))
        for bad in ["", "App", "1app", "a-b", "a.b", String(repeating: "a", count: 31), "../x"] {
            #expect(!ProjectID.isValid(bad), "accepted \(bad)")
        }
    }
}
