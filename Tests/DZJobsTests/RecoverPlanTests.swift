import DZJobs
import DZSpool
import DZStore
import DZSystem
import Testing

/// recover through the planner: app1 (two instances of the current release) is lost; app2 runs one, app3 a
/// leftover of an older release.
@Suite struct RecoverPlanTests {
    let now = Timestamp(nanoseconds: 1_800_000_000_000_000_000)

    func coordinator(facts: [String: JSONValue] = ShopFixture.facts) -> HandCoordinator {
        HandCoordinator(planner: JobPlanner(kind: RecoverJob.kind, queueWait: 3600), facts: facts, now: now)
    }

    func upstream(_ address: String, _ port: Int) -> JSONValue {
        .object(["address": .string(address), "port": .int(Int64(port))])
    }

    let lost: JSONValue = .array([.string("bundle_shop_2.app1.10001"), .string("bundle_shop_2.app1.10002")])

    /// Runs recover of app1 up to stop_lost.
    func throughProxyUpdate() throws -> (HandCoordinator, JobRecord, [StepRecord]) {
        let coordinator = coordinator()
        var (job, steps) = coordinator.settle(ShopFixture.job("recover", ["appserver": .string("app1")]), [])
        #expect(steps.running == ["placement"])
        let placement = try steps.args("placement")
        #expect(placement["count"] == .int(2), "as many as were lost")
        #expect(placement["exclude"] == .array([.string("app1")]))
        steps.succeed("placement", ["appservers": .array([.string("app2"), .string("app3")])])
        (job, steps) = coordinator.settle(job, steps)
        #expect(steps.tasks(of: "deploy").map(\.queue) == ["appserver_app2", "appserver_app3"])
        #expect(try steps.args("deploy.0")["bundle"] == .string("bundle_shop_2"))
        (job, steps) = ShopFixture.startedAndHealthy(coordinator, job, steps, bundle: "bundle_shop_2")
        #expect(steps.tasks(of: "post_deploy_hooks").isEmpty, "no hooks: the schema is the current one")
        #expect(steps.running == ["proxy_update"])
        #expect(try steps.args("proxy_update")["upstreams"] == .array([
            upstream("10.0.0.2", 10001), upstream("10.0.1.2", 10005), upstream("10.0.1.3", 10006),
        ]), "the other instance of the current release, then the new ones; not the lost, not the leftover")
        steps.succeed("proxy_update")
        (job, steps) = coordinator.settle(job, steps)
        return (coordinator, job, steps)
    }

    @Test func theLostInstancesAreReplacedElsewhereAndTheStopWaitsForTheLostAppserverWithoutHoldingTheJob() throws {
        var (coordinator, job, steps) = try throughProxyUpdate()
        #expect(steps.running == ["stop_lost.0"])
        let stop = try #require(steps.first { $0.name == "stop_lost.0" })
        #expect(stop.queue == "appserver_app1")
        #expect(try steps.args("stop_lost.0")["instances"] == lost)
        #expect(stop.deadline == nil, "detached: it waits in the lost appserver's queue for as long as it takes")
        #expect(job.state == .succeeded, "the job does not wait for a lost appserver")
        #expect(job.result?["lost"] == lost)
        #expect(job.result?["started"]?.arrayValue?.compactMap { $0["appserver"]?.stringValue } == ["app2", "app3"])
        // The appserver came back: its stop is recorded, the job stays as it ended.
        steps.succeed("stop_lost.0", ["stopped": lost])
        let (after, _) = coordinator.settle(job, steps)
        #expect(after.state == .succeeded)
    }

    @Test func aFailedStopOnTheLostAppserverIsNotTheJobs() throws {
        var (coordinator, job, steps) = try throughProxyUpdate()
        steps.fail("stop_lost.0", kind: "stop", "could not stop")
        (job, steps) = coordinator.settle(job, steps)
        #expect(job.state == .succeeded)
    }

    @Test func theLostInstancesAreReportedEvenWhenTheirAppserverStoppedThem() throws {
        var (coordinator, job, steps) = try throughProxyUpdate()
        steps.succeed("stop_lost.0", ["stopped": lost])
        // stop_lost's record marks them stopped, so the next pass no longer sees them among the running.
        coordinator.facts["active"] = .array(ShopFixture.active.filter { $0["appserver"]?.stringValue != "app1" })
        (job, steps) = coordinator.settle(job, steps)
        #expect(job.state == .succeeded)
        #expect(job.result?["lost"] == lost)
    }

    @Test func anAppserverWithoutInstancesOfTheProjectIsRefused() {
        let (job, steps) = coordinator().settle(ShopFixture.job("recover", ["appserver": .string("app9")]), [])
        #expect(job.state == .failed)
        #expect(job.error?.contains("project shop has no running instance on appserver app9") == true,
                "\(job.error ?? "")")
        #expect(steps.allSatisfy { $0.task == JobPlanner.noTask })
    }

    @Test func onSuccessTheLostInstancesAreMarkedStoppedAndTheNewOnesKept() throws {
        try withTemporaryZoomDB { db throws in
            for (instance, appserver, job) in [("bundle_shop_2.app1.10001", "app1", "J4"),
                                               ("bundle_shop_2.app2.10001", "app2", "J4"),
                                               ("bundle_shop_2.app1.10007", "app1", "L1")] {
                try db.recordDeployment(DeploymentRecord(project: "shop", bundle: "bundle_shop_2", appserver: appserver,
                                                         instance: instance, host: "127.0.0.1", port: 10001, job: job))
            }
            let onFinish = try #require(RecoverJob.kind.onFinish)
            var job = ShopFixture.job("recover", ["appserver": .string("app1")])
            _ = try db.insert(job)
            job.state = .failed
            try onFinish(job, coordinator().context(job, []), db)
            #expect(try db.activeDeployments(of: "shop").count == 3, "a failed recovery marks nothing")
            job.state = .succeeded
            try onFinish(job, coordinator().context(job, []), db)
            #expect(try db.activeDeployments(of: "shop").map(\.instance)
                    == ["bundle_shop_2.app2.10001", "bundle_shop_2.app1.10007"],
                    "what this job started stays, even on that appserver")
        }
    }
}
