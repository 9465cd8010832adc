@testable import DZJobs
import DZSpool
import DZStore
import DZSystem
import Testing

/// rollback through the planner with its facts given directly, and its choice of target in a real zoomdb.
@Suite struct RollbackPlanTests {
    func coordinator(target: JSONValue? = .object(ShopFixture.earlier.jsonObject), error: String? = nil)
        -> HandCoordinator
    {
        var facts = ShopFixture.facts
        facts["target"] = target
        facts["target_error"] = error.map { .string($0) }
        return HandCoordinator(planner: JobPlanner(kind: RollbackJob.kind, queueWait: 60), facts: facts)
    }

    @Test func theTargetsCodeIsDeployedWithTodaysNamesEnvironmentAndFormation() throws {
        let coordinator = coordinator()
        var (job, steps) = coordinator.settle(ShopFixture.job("rollback"), [])
        #expect(steps.running == ["placement", "stage_static"])
        let stage = try steps.args("stage_static")
        #expect(stage == ["project": .string("shop"), "bundle": .string("bundle_shop_1"), "sha256": .string("aaa"),
                          "static": ShopFixture.earlier.staticFiles], "the target's bundle and static files")
        let placement = try steps.args("placement")
        #expect(placement["count"] == .int(2), "the formation's instances, not the target's 1")
        #expect(placement["instances"] == ShopFixture.facts["instances"])
        steps.succeed("placement", ["appservers": .array([.string("app2"), .string("app3")])])
        (job, steps) = coordinator.settle(job, steps)
        #expect(steps.running == ["deploy.0", "deploy.1", "stage_static"])
        #expect(steps.tasks(of: "deploy").map(\.queue) == ["appserver_app2", "appserver_app3"])
        for name in ["deploy.0", "deploy.1"] {
            let deploy = try steps.args(name)
            #expect(deploy["bundle"] == .string("bundle_shop_1"))
            #expect(deploy["sha256"] == .string("aaa"))
            #expect(deploy["wsgi"] == .string("shop.old_wsgi"))
            #expect(deploy["hostnames"] == .array([.string("shop.example.com"), .string("shop.localhost")]),
                    "the host names of now, not the target's")
            #expect(deploy["environment"] == .object(["GREETING": .string("hello")]))
            #expect(deploy["workers"] == .int(3), "the formation's workers, not the target's 4")
            #expect(deploy["secret_key"] == .string("s3cret"))
        }
        #expect(try steps.args("deploy.1")["appserver"] == .string("app3"))
    }

    @Test func theHooksCheckTheSchemaAndAllowAMismatchOnlyWhenAsked() throws {
        for allow in [false, true] {
            let coordinator = coordinator()
            let params: [String: JSONValue] = allow ? ["allow_schema_mismatch": .string("true")] : [:]
            var (job, steps) = coordinator.settle(ShopFixture.job("rollback", params), [])
            steps.succeed("placement", ["appservers": .array([.string("app2")])])
            (job, steps) = coordinator.settle(job, steps)
            steps.succeed("deploy.0", ShopFixture.deployed("bundle_shop_1", "app2", 10005))
            (job, steps) = coordinator.settle(job, steps)
            #expect(steps.running == ["post_deploy_hooks", "stage_static"])
            #expect(steps.first { $0.name == "post_deploy_hooks" }?.queue == "appserver_app2")
            let hooks = try steps.args("post_deploy_hooks")
            #expect(hooks["check_schema"] == .bool(true))
            #expect(hooks["allow_schema_mismatch"] == .bool(allow))
            #expect(hooks["instance"] == .string("bundle_shop_1.app2.10005"))
        }
    }

    @Test func theProxyServesTheTargetsStaticFilesThenTheCurrentInstancesAreRetired() throws {
        let coordinator = coordinator()
        var (job, steps) = ShopFixture.throughHealthCheck(coordinator, ShopFixture.job("rollback"),
                                                          bundle: "bundle_shop_1")
        #expect(steps.running == ["proxy_update"])
        let proxy = try steps.args("proxy_update")
        #expect(proxy["bundle"] == .string("bundle_shop_1"))
        #expect(proxy["static"] == ShopFixture.earlier.staticFiles)
        #expect(proxy["client_max_body_size"] == .string("10m"))
        #expect(proxy["hostnames"] == .array([.string("shop.example.com"), .string("shop.localhost")]))
        #expect(proxy["upstreams"]?.arrayValue?.count == 2)
        steps.succeed("proxy_update", ["urls": .array([.string("http://shop.example.com/")])])
        (job, steps) = coordinator.settle(job, steps)
        #expect(steps.tasks(of: "retire_old").map(\.queue) == ["appserver_app1", "appserver_app2", "appserver_app3"])
        for step in steps.tasks(of: "retire_old") { steps.succeed(step.name) }
        (job, steps) = coordinator.settle(job, steps)
        #expect(job.state == .succeeded)
        #expect(job.result?["rolled_back_to"] == .int(1))
        #expect(job.result?["bundle"] == .string("bundle_shop_1"))
        #expect(job.result?["revision"] == .string("r1"))
    }

    @Test func aTargetErrorFailsTheJobWithItsMessageBeforeAnythingStarts() {
        let message = "release 3 of shop failed: only a succeeded release can be rolled back to"
        let (job, steps) = coordinator(target: nil, error: message).settle(ShopFixture.job("rollback"), [])
        #expect(job.state == .failed)
        #expect(job.error?.contains(message) == true, "\(job.error ?? "")")
        #expect(steps.allSatisfy { $0.task == JobPlanner.noTask }, "no task was sent")
    }

    // MARK: The target, from the zoomdb

    /// Releases 1 (bundle 1), 2 (bundle 2), 3 (bundle 3, failed), 4 (bundle 2 again: a config change).
    func releases(_ db: ZoomDB) throws {
        for (bundle, result) in [("bundle_shop_1", "succeeded"), ("bundle_shop_2", "succeeded"),
                                 ("bundle_shop_3", "failed"), ("bundle_shop_2", "succeeded")] {
            try db.recordRelease(ReleaseRecord(project: "shop", kind: "build_and_deploy", bundle: bundle,
                                               wsgi: "shop.wsgi", hostnames: ["shop.localhost"], configVersion: 0,
                                               result: result))
            try db.recordBundle(project: "shop", name: bundle, codeRevision: nil, sha256: nil, size: nil,
                                storageURL: nil)
        }
    }

    func target(_ db: ZoomDB, _ params: [String: JSONValue] = [:], project: String? = "shop")
        throws -> Result<ReleaseRecord, JobError>
    {
        try RollbackJob.target(JobRecord(id: "R1", kind: "rollback", project: project, params: params,
                                         issuedBy: nil, issuedAt: .now()), db)
    }

    func refusal(_ result: Result<ReleaseRecord, JobError>) -> String? {
        if case .failure(let error) = result { return error.message }
        return nil
    }

    @Test func byDefaultTheTargetIsTheNewestEarlierSucceededReleaseWithOtherCode() throws {
        try withTemporaryZoomDB { db throws in
            try releases(db)
            let chosen = try target(db).get()
            #expect(chosen.number == 1, "release 2 has the current release's bundle; release 3 failed")
            #expect(chosen.bundle == "bundle_shop_1")
            try db.recordRelease(ReleaseRecord(project: "shop", kind: "build_and_deploy", bundle: "bundle_shop_4",
                                               wsgi: "shop.wsgi", hostnames: [], configVersion: 0, result: "succeeded"))
            try db.recordBundle(project: "shop", name: "bundle_shop_4", codeRevision: nil, sha256: nil, size: nil,
                                storageURL: nil)
            #expect(try target(db).get().number == 4, "the newest release before 5 with other code")
        }
    }

    @Test func toPicksAReleaseByNumber() throws {
        try withTemporaryZoomDB { db throws in
            try releases(db)
            #expect(try target(db, ["to": .string("2")]).get().number == 2)
            #expect(try target(db, ["to": .int(1)]).get().bundle == "bundle_shop_1", "a number given as JSON")
        }
    }

    @Test func aFailedUnknownOrBadNumberIsRefusedWithAClearMessage() throws {
        try withTemporaryZoomDB { db throws in
            try releases(db)
            #expect(refusal(try target(db, ["to": .string("3")]))
                    == "release 3 of shop failed: only a succeeded release can be rolled back to")
            #expect(refusal(try target(db, ["to": .string("9")]))
                    == "project shop has no release 9: see `dz releases --project shop`")
            #expect(refusal(try target(db, ["to": .string("0")])) == "to must be a release number, not 0")
            #expect(refusal(try target(db, ["to": .string("latest")])) == "to must be a release number, not latest")
            #expect(refusal(try target(db, project: nil)) == "rollback needs --project")
        }
    }

    @Test func aReleaseWhoseBundleWasDeletedIsRefused() throws {
        try withTemporaryZoomDB { db throws in
            try releases(db)
            try db.markBundlesDeleted(["bundle_shop_1"])
            let expected = "the bundle of release 1 (bundle_shop_1) was deleted from the store"
            #expect(refusal(try target(db)) == expected)
            #expect(refusal(try target(db, ["to": .string("1")])) == expected)
            #expect(try target(db, ["to": .string("2")]).get().number == 2)
        }
    }

    @Test func withoutAnEarlierReleaseThereIsNothingToRollBackTo() throws {
        try withTemporaryZoomDB { db throws in
            #expect(refusal(try target(db)) == "project shop has no succeeded release to roll back from")
            try db.recordRelease(ReleaseRecord(project: "shop", kind: "build_and_deploy", bundle: "bundle_shop_1",
                                               wsgi: "shop.wsgi", hostnames: [], configVersion: 0, result: "succeeded"))
            try db.recordRelease(ReleaseRecord(project: "shop", kind: "config", bundle: "bundle_shop_1",
                                               wsgi: "shop.wsgi", hostnames: [], configVersion: 1, result: "succeeded"))
            #expect(refusal(try target(db)) == "project shop has no earlier release with other code than release 2")
        }
    }

    @Test func theKindsFactsCarryTheTargetOrWhyThereIsNone() throws {
        try withTemporaryZoomDB { db throws in
            try releases(db)
            let read = try #require(RollbackJob.kind.facts)
            let facts = try read(ShopFixture.job("rollback"), db)
            #expect(facts["target"]?["number"] == .int(1))
            #expect(facts["current"]?["number"] == .int(4))
            let refused = try read(ShopFixture.job("rollback", ["to": .string("3")]), db)
            #expect(refused["target"] == nil)
            #expect(refused["target_error"]?.stringValue?.contains("only a succeeded release") == true)
        }
    }
}
