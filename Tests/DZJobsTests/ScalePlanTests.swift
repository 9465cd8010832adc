import DZJobs
import DZSpool
import DZStore
import DZSystem
import Testing

/// scale through the planner: three instances of the current release run (app1, app2, app1), a leftover of an
/// older release on app3 is not counted.
@Suite struct ScalePlanTests {
    func coordinator(facts: [String: JSONValue] = ShopFixture.facts) -> HandCoordinator {
        HandCoordinator(planner: JobPlanner(kind: ScaleJob.kind, queueWait: 60), facts: facts)
    }

    func upstream(_ address: String, _ port: Int) -> JSONValue {
        .object(["address": .string(address), "port": .int(Int64(port))])
    }

    @Test func moreInstancesArePlacedAndJoinTheKeptOnesInTheProxy() throws {
        let coordinator = coordinator()
        var (job, steps) = coordinator.settle(ShopFixture.job("scale", ["instances": .string("5")]), [])
        #expect(steps.running == ["placement.0"])
        #expect(try steps.args("placement.0")["count"] == .int(2), "the difference")
        steps.succeed("placement.0", ["appservers": .array([.string("app2"), .string("app3")])])
        (job, steps) = coordinator.settle(job, steps)
        #expect(steps.running == ["deploy.0", "deploy.1"])
        #expect(try steps.args("deploy.0")["bundle"] == .string("bundle_shop_2"), "the current release")
        (job, steps) = ShopFixture.startedAndHealthy(coordinator, job, steps, bundle: "bundle_shop_2")
        #expect(steps.running == ["proxy_update.0"])
        #expect(try steps.args("proxy_update.0")["upstreams"] == .array([
            upstream("10.0.0.1", 10001), upstream("10.0.0.2", 10001), upstream("10.0.0.1", 10002),
            upstream("10.0.1.2", 10005), upstream("10.0.1.3", 10006),
        ]), "the kept ones, then the new ones; the leftover on app3 is not sent traffic")
        steps.succeed("proxy_update.0")
        (job, steps) = coordinator.settle(job, steps)
        #expect(steps.tasks(of: "stop_instances").isEmpty && steps.tasks(of: "scale_workers").isEmpty)
        #expect(job.state == .succeeded)
        #expect(job.result?["instances"] == .int(5))
        #expect(job.result?["started"]?.arrayValue?.count == 2)
    }

    @Test func fewerInstancesLeaveTheProxyFirstThenStop() throws {
        let coordinator = coordinator()
        var (job, steps) = coordinator.settle(ShopFixture.job("scale", ["instances": .string("1")]), [])
        #expect(steps.running == ["proxy_update.0"], "nothing to place, deploy or check")
        #expect(steps.tasks(of: "placement").isEmpty && steps.tasks(of: "deploy").isEmpty)
        #expect(try steps.args("proxy_update.0")["upstreams"] == .array([upstream("10.0.0.1", 10001)]),
                "the oldest is kept")
        steps.succeed("proxy_update.0")
        (job, steps) = coordinator.settle(job, steps)
        let stops = steps.tasks(of: "stop_instances")
        #expect(stops.map(\.queue) == ["appserver_app2", "appserver_app1"])
        #expect(try steps.args(stops[0].name)["instances"] == .array([.string("bundle_shop_2.app2.10001")]))
        #expect(try steps.args(stops[1].name)["instances"] == .array([.string("bundle_shop_2.app1.10002")]))
        for stop in stops { steps.succeed(stop.name, ["stopped": try steps.args(stop.name)["instances"] ?? .null]) }
        (job, steps) = coordinator.settle(job, steps)
        #expect(job.state == .succeeded)
        #expect(job.result?["instances"] == .int(1))
        #expect(job.result?["stopped"]?.arrayValue?.count == 2)
    }

    @Test func workersAloneChangeInPlaceOnEachAppserver() throws {
        let coordinator = coordinator()
        var (job, steps) = coordinator.settle(ShopFixture.job("scale", ["workers": .string("5")]), [])
        #expect(steps.tasks(of: "placement").isEmpty && steps.tasks(of: "proxy_update").isEmpty)
        let scale = steps.tasks(of: "scale_workers")
        #expect(steps.running == scale.map(\.name).sorted())
        #expect(scale.map(\.queue) == ["appserver_app1", "appserver_app2"])
        let app1 = try steps.args(scale[0].name)
        #expect(app1["workers"] == .int(5) && app1["project"] == .string("shop"))
        #expect(app1["instances"] == .array([.string("bundle_shop_2.app1.10001"), .string("bundle_shop_2.app1.10002")]))
        #expect(try steps.args(scale[1].name)["instances"] == .array([.string("bundle_shop_2.app2.10001")]))
        for step in scale { steps.succeed(step.name) }
        (job, steps) = coordinator.settle(job, steps)
        #expect(job.state == .succeeded)
        #expect(job.result?["instances"] == .int(3) && job.result?["workers"] == .int(5))
    }

    @Test func newInstancesStartWithTheNewWorkerCount() throws {
        let coordinator = coordinator()
        var (job, steps) = coordinator.settle(ShopFixture.job("scale", ["instances": .string("4"),
                                                                         "workers": .string("6")]), [])
        steps.succeed("placement.0", ["appservers": .array([.string("app3")])])
        (job, steps) = coordinator.settle(job, steps)
        #expect(try steps.args("deploy.0")["workers"] == .int(6))
    }

    @Test func withoutACurrentReleaseOrARunningInstanceScalingFails() {
        var facts = ShopFixture.facts
        facts["current"] = nil
        var (job, _) = coordinator(facts: facts).settle(ShopFixture.job("scale", ["instances": .string("2")]), [])
        #expect(job.state == .failed)
        #expect(job.error?.contains("project shop has no release to scale: run `dz deploy` first") == true,
                "\(job.error ?? "")")

        facts = ShopFixture.facts
        facts["active"] = .array([ShopFixture.active[2]])
        (job, _) = coordinator(facts: facts).settle(ShopFixture.job("scale", ["instances": .string("2")]), [])
        #expect(job.error?.contains("project shop has no running instance of its current release") == true,
                "\(job.error ?? "")")
    }

    @Test func badCountsAreRefused() {
        for params: [String: JSONValue] in [[:], ["instances": .string("0")], ["workers": .string("33")],
                                            ["instances": .string("two")]] {
            let (job, steps) = coordinator().settle(ShopFixture.job("scale", params), [])
            #expect(job.state == .failed, "\(params)")
            #expect(steps.allSatisfy { $0.task == JobPlanner.noTask })
        }
    }

    @Test func theFormationIsRecordedOnlyWhenTheJobSucceeds() throws {
        try withTemporaryZoomDB { db throws in
            let onFinish = try #require(ScaleJob.kind.onFinish)
            let coordinator = coordinator()
            var job = ShopFixture.job("scale", ["workers": .string("5")])
            job.state = .failed
            try onFinish(job, coordinator.context(job, []), db)
            #expect(try db.formation(of: "shop") == (nil, nil))
            job.state = .succeeded
            try onFinish(job, coordinator.context(job, []), db)
            #expect(try db.formation(of: "shop") == (nil, 5), "the instances were not asked for")
        }
    }
}
