@testable import DZJobs
import DZSpool
import DZStore
import DZSystem
import Testing

/// build_and_deploy and undeploy driven by hand through the planner, with the zoomdb facts given directly.
@Suite struct BuildAndDeployPlanTests {
    let facts: [String: JSONValue] = [
        "secret_key": .string("s3cret"),
        "app_user": .object(["name": .string("dz_shop"), "uid": .int(70123)]),
        "instances": .object(["app1": .int(3)]),
        "database": .object(["engine": .string("postgresql"), "name": .string("shop"), "user": .string("shop"),
                             "password": .string("pw"), "host": .string("127.0.0.1"), "port": .int(5432)]),
        "active": .array([
            .object(["appserver": .string("app1"), "instance": .string("old.app1.10001")]),
            .object(["appserver": .string("app3"), "instance": .string("old.app3.10001")]),
            .object(["appserver": .string("app1"), "instance": .string("old.app1.10002")]),
        ]),
    ]

    func settle(_ planner: JobPlanner, _ job: JobRecord, _ steps: [StepRecord]) -> (JobRecord, [StepRecord]) {
        HandCoordinator(planner: planner, facts: facts).settle(job, steps)
    }

    func succeed(_ steps: inout [StepRecord], _ name: String, _ output: [String: JSONValue] = [:]) {
        steps.succeed(name, output)
    }

    func args(_ steps: [StepRecord], _ name: String) throws -> [String: JSONValue] { try steps.args(name) }

    func running(_ steps: [StepRecord]) -> [String] { steps.running }

    /// Runs build_and_deploy up to its deploy steps, two instances placed on app1 and app2.
    func deployed(_ params: [String: JSONValue] = [:], facts: [String: JSONValue]? = nil)
        -> (JobPlanner, JobRecord, [StepRecord])
    {
        let facts = facts ?? self.facts
        func settle(_ planner: JobPlanner, _ job: JobRecord, _ steps: [StepRecord]) -> (JobRecord, [StepRecord]) {
            HandCoordinator(planner: planner, facts: facts).settle(job, steps)
        }
        let planner = JobPlanner(kind: BuildAndDeployJob.kind, queueWait: 60)
        let job = JobRecord(id: "J9", kind: "build_and_deploy", project: "shop",
                            params: ["source": .string("git://x/shop"), "instances": .string("2")]
                                .merging(params) { $1 },
                            issuedBy: nil, issuedAt: .now())
        var (settled, steps) = settle(planner, job, [])
        succeed(&steps, "check_repo", ["zoombuild_cfg": .string("[project]\n")])
        (settled, steps) = settle(planner, settled, steps)
        succeed(&steps, "check_placement")
        (settled, steps) = settle(planner, settled, steps)
        succeed(&steps, "build_bundle", [
            "bundle": .string("bundle_shop_1"), "wsgi": .string("shop.wsgi"), "num_workers": .int(3),
            "static": .array([.object(["url": .string("/static/"), "path": .string("static")])]),
            "hostnames": .array([]),
        ])
        (settled, steps) = settle(planner, settled, steps)
        succeed(&steps, "create_database", ["engine": .string("postgresql"), "name": .string("shop"),
                                            "user": .string("shop"), "password": .string("***")])
        succeed(&steps, "bundle_upload", ["bundle": .string("bundle_shop_1"), "sha256": .string("abc")])
        (settled, steps) = settle(planner, settled, steps)
        succeed(&steps, "placement", ["appservers": .array([.string("app1"), .string("app2")])])
        (settled, steps) = settle(planner, settled, steps)
        return (planner, settled, steps)
    }

    @Test func placementAsksForTheInstancesWithTheRunningCounts() throws {
        let planner = JobPlanner(kind: BuildAndDeployJob.kind, queueWait: 60)
        var (job, steps) = settle(planner, JobRecord(id: "J1", kind: "build_and_deploy", project: "shop",
                                                     params: ["source": .string("s"), "instances": .string("3")],
                                                     issuedBy: nil, issuedAt: .now()), [])
        succeed(&steps, "check_repo", ["zoombuild_cfg": .string("[project]\n")])
        (job, steps) = settle(planner, job, steps)
        succeed(&steps, "check_placement")
        (job, steps) = settle(planner, job, steps)
        succeed(&steps, "build_bundle", ["bundle": .string("bundle_shop_1"), "wsgi": .string("shop.wsgi"),
                                         "database_engine": .string("sqlite")])
        (job, steps) = settle(planner, job, steps)
        #expect(running(steps) == ["bundle_upload", "create_database"])
        succeed(&steps, "create_database")
        succeed(&steps, "bundle_upload", ["bundle": .string("bundle_shop_1")])
        (job, steps) = settle(planner, job, steps)
        let placement = try args(steps, "placement")
        #expect(placement["count"] == .int(3))
        #expect(placement["instances"] == .object(["app1": .int(3)]))
    }

    @Test func theStaticFilesAreStagedOnTheProxyAsSoonAsTheBundleIsStored() throws {
        let planner = JobPlanner(kind: BuildAndDeployJob.kind, queueWait: 60)
        var (job, steps) = settle(planner, JobRecord(id: "J1", kind: "build_and_deploy", project: "shop",
                                                     params: ["source": .string("s")], issuedBy: nil,
                                                     issuedAt: .now()), [])
        succeed(&steps, "check_repo", ["zoombuild_cfg": .string("[project]\n")])
        (job, steps) = settle(planner, job, steps)
        succeed(&steps, "check_placement")
        (job, steps) = settle(planner, job, steps)
        let mapping: JSONValue = .object(["url": .string("/static/"), "path": .string("static")])
        succeed(&steps, "build_bundle", ["bundle": .string("bundle_shop_1"), "wsgi": .string("shop.wsgi"),
                                         "static": .array([mapping])])
        (job, steps) = settle(planner, job, steps)
        succeed(&steps, "bundle_upload", ["bundle": .string("bundle_shop_1"), "sha256": .string("abc")])
        (job, steps) = settle(planner, job, steps)
        #expect(running(steps) == ["create_database", "stage_static"], "without waiting for the database")
        #expect(steps.first { $0.name == "stage_static" }?.queue == "proxy")
        #expect(try args(steps, "stage_static") == ["project": .string("shop"), "bundle": .string("bundle_shop_1"),
                                                    "sha256": .string("abc"), "static": .array([mapping])])
    }

    @Test func aFailedJobWhoseStaticFilesWereServedAlreadyUnstagesNothing() throws {
        var (planner, job, steps) = deployed()
        succeed(&steps, "stage_static", ["bundle": .string("bundle_shop_1"), "state": .string("here")])
        steps.fail("deploy.0", kind: "health-check")
        succeed(&steps, "deploy.1", ["appserver": .string("app2"), "instance": .string("new.app2.10001")])
        (job, steps) = settle(planner, job, steps)
        #expect(steps.tasks(of: "unstage_static").isEmpty)
        #expect(steps.tasks(of: "stop_new_instances").map(\.queue) == ["appserver_app2"])
    }

    @Test func theDatabaseKeepsItsRecordedEngineElseTakesTheOneTheBundleWasBuiltFor() throws {
        for recorded in [true, false] {
            let coordinator = HandCoordinator(planner: JobPlanner(kind: BuildAndDeployJob.kind, queueWait: 60),
                                              facts: recorded ? facts : facts.filter { $0.key != "database" })
            var (job, steps) = coordinator.settle(JobRecord(id: "J1", kind: "build_and_deploy", project: "shop",
                                                            params: ["source": .string("s")], issuedBy: nil,
                                                            issuedAt: .now()), [])
            steps.succeed("check_repo", ["zoombuild_cfg": .string("[project]\n")])
            (job, steps) = coordinator.settle(job, steps)
            steps.succeed("check_placement")
            (job, steps) = coordinator.settle(job, steps)
            #expect(try steps.args("build_bundle")["db_engine"] == (recorded ? .string("postgresql") : nil))
            steps.succeed("build_bundle", ["bundle": .string("bundle_shop_1"), "wsgi": .string("shop.wsgi"),
                                           "database_engine": .string("sqlite")])
            (job, steps) = coordinator.settle(job, steps)
            #expect(try steps.args("create_database")["engine"] == .string(recorded ? "postgresql" : "sqlite"))
        }
    }

    @Test func checkPlacementRunsBeforeTheBuildWithTheEngineAndConfigTheBuildWillHave() throws {
        let planner = JobPlanner(kind: BuildAndDeployJob.kind, queueWait: 60)
        let config = "[project]\ndatabase_type = sqlite\n"
        var (job, steps) = settle(planner, JobRecord(id: "J2", kind: "build_and_deploy", project: "shop",
                                                     params: ["source": .string("s")], issuedBy: nil, issuedAt: .now()), [])
        succeed(&steps, "check_repo", ["zoombuild_cfg": .string(config)])
        (job, steps) = settle(planner, job, steps)
        #expect(running(steps) == ["check_placement"])
        let check = try args(steps, "check_placement")
        // The recorded database's engine (PostgreSQL in these facts) and the config the build will use.
        #expect(check == ["project": .string("shop"), "engine": .string("postgresql"), "zoombuild_cfg": .string(config)])
        // Refused: nothing is built, the job fails with the check's reason.
        steps.fail("check_placement", kind: "sqlite-placement", "no appserver reaches it")
        (job, steps) = settle(planner, job, steps)
        #expect(job.state == .failed)
        #expect(steps.first { $0.name == "build_bundle" } == nil)
    }

    @Test func placementOfAnSQLiteAppNamesItsDatabaseFileAndTheHostThatMadeIt() throws {
        let coordinator = HandCoordinator(planner: JobPlanner(kind: BuildAndDeployJob.kind, queueWait: 60),
                                          facts: facts.filter { $0.key != "database" })
        var (job, steps) = coordinator.settle(JobRecord(id: "J3", kind: "build_and_deploy", project: "shop",
                                                        params: ["source": .string("s")], issuedBy: nil,
                                                        issuedAt: .now()), [])
        steps.succeed("check_repo", ["zoombuild_cfg": .string("[project]\n")])
        (job, steps) = coordinator.settle(job, steps)
        #expect(try steps.args("check_placement")["database"] == nil)
        steps.succeed("check_placement")
        (job, steps) = coordinator.settle(job, steps)
        steps.succeed("build_bundle", ["bundle": .string("bundle_shop_1"), "wsgi": .string("shop.wsgi")])
        (job, steps) = coordinator.settle(job, steps)
        steps.succeed("create_database", ["engine": .string("sqlite"), "name": .string("/srv/db/apps/shop/db.sqlite3")],
                      host: "dbhost")
        steps.succeed("bundle_upload", ["bundle": .string("bundle_shop_1")])
        (job, steps) = coordinator.settle(job, steps)
        #expect(try steps.args("placement")["database"] == .object([
            "engine": .string("sqlite"), "name": .string("/srv/db/apps/shop/db.sqlite3"), "host": .string("dbhost"),
        ]))
    }

    @Test func anSQLiteDatabaseAsRecordedGoesToTheCheckAndToPlacementWithoutAnyPassword() throws {
        var recorded = facts
        recorded["database"] = .object(["engine": .string("sqlite"), "name": .string("/srv/db/apps/shop/db.sqlite3"),
                                        "host": .string("dbhost")])
        let coordinator = HandCoordinator(planner: JobPlanner(kind: BuildAndDeployJob.kind, queueWait: 60), facts: recorded)
        var (job, steps) = coordinator.settle(JobRecord(id: "J4", kind: "build_and_deploy", project: "shop",
                                                        params: ["source": .string("s")], issuedBy: nil,
                                                        issuedAt: .now()), [])
        steps.succeed("check_repo", ["zoombuild_cfg": .string("[project]\n")])
        (job, steps) = coordinator.settle(job, steps)
        let check = try steps.args("check_placement")
        #expect(check["engine"] == .string("sqlite"))
        #expect(check["database"] == recorded["database"])
        // PostgreSQL: placement gets no database argument, so the password never reaches it.
        let (_, _, postgres) = deployed()
        #expect(try postgres.args("placement")["database"] == nil)
    }

    @Test func deployHostnamesAddToTheProjectsNamesAndDropNone() throws {
        // The project has a name given at its first deploy and one added since with `dz hostnames add`.
        var facts = self.facts
        facts["hostnames"] = .array([.string("shop.example.com"), .string("www.shop.example.com")])
        let (_, _, steps) = deployed(["hostnames": .string("shop.example.com,api.shop.example.com")], facts: facts)
        #expect(try args(steps, "deploy.0")["hostnames"] == .array([
            .string("shop.example.com"), .string("api.shop.example.com"), .string("www.shop.example.com"),
        ]), "the names given first, then the project's others, each once")
        let (_, _, kept) = deployed([:], facts: facts)
        #expect(try args(kept, "deploy.0")["hostnames"] == facts["hostnames"], "without --hostname: the project's")
    }

    @Test func deployGoesToEachPlacedAppserverWithWhatTheAppNeeds() throws {
        let (_, _, steps) = deployed(["hostnames": .string("shop.example.com, *.shop.example.com")])
        #expect(running(steps) == ["deploy.0", "deploy.1", "stage_static"])
        #expect(steps.filter { $0.definition == "deploy" }.map(\.queue) == ["appserver_app1", "appserver_app2"])
        let deploy = try args(steps, "deploy.1")
        #expect(deploy["appserver"] == .string("app2"))
        #expect(deploy["bundle"] == .string("bundle_shop_1"))
        #expect(deploy["sha256"] == .string("abc"))
        #expect(deploy["wsgi"] == .string("shop.wsgi"))
        #expect(deploy["workers"] == .int(3), "the config's num_workers")
        #expect(deploy["secret_key"] == .string("s3cret"))
        #expect(deploy["hostnames"] == .array([.string("shop.example.com"), .string("*.shop.example.com")]))
        #expect(deploy["database"]?["password"] == .string("pw"), "the recorded password, not the output's mask")
        #expect(deploy["health"] == .string("live"), "health_check comes after the migrations")
        #expect(deploy["app_user"] == .object(["name": .string("dz_shop"), "uid": .int(70123)]),
                "every deploy step names the user the zoomdb allocated")
        #expect(deploy["limits"] == nil, "no limits given: the appserver's defaults")
    }

    @Test func limitParametersReachEveryDeployCheckedAndOverTheRecordedOnes() throws {
        var facts = self.facts
        facts["limits"] = .object(["memory": .int(1 << 30), "cpu_weight": .int(50)])
        let (_, _, steps) = deployed(["memory_limit": .string("256M"), "process_limit": .int(128)], facts: facts)
        #expect(try args(steps, "deploy.0")["limits"] == .object([
            "memory": .int(256 << 20), "processes": .int(128), "cpu_weight": .int(50),
        ]))

        for (key, bad) in [("memory_limit", "1K"), ("memory_limit", "lots"), ("process_limit", "3"),
                           ("cpu_weight", "0")] {
            var context = JobContext(jobID: "J2", kind: "build_and_deploy", project: "shop",
                                     params: [key: .string(bad)], outputs: [:])
            context.facts = facts
            #expect(throws: JobError.self, "\(key)=\(bad)") { try AppLimitParameters.limits(context) }
        }
    }

    @Test func hooksRunOnTheFirstInstanceThenTheProxySwitchesThenTheOldAreRetired() throws {
        var (planner, job, steps) = deployed()
        succeed(&steps, "deploy.0", ["appserver": .string("app1"), "instance": .string("new.app1.10005"),
                                     "address": .string("10.0.0.1"), "port": .int(10005)])
        succeed(&steps, "deploy.1", ["appserver": .string("app2"), "instance": .string("new.app2.10001"),
                                     "address": .string("10.0.0.2"), "port": .int(10001)])
        (job, steps) = settle(planner, job, steps)
        #expect(running(steps) == ["post_deploy_hooks", "stage_static"])
        #expect(steps.first { $0.name == "post_deploy_hooks" }?.queue == "appserver_app1")
        #expect(try args(steps, "post_deploy_hooks")["instance"] == .string("new.app1.10005"))
        succeed(&steps, "post_deploy_hooks")
        (job, steps) = settle(planner, job, steps)
        #expect(running(steps) == ["health_check.0", "health_check.1", "stage_static"])
        #expect(steps.filter { $0.definition == "health_check" }.map(\.queue) == ["appserver_app1", "appserver_app2"])
        #expect(try args(steps, "health_check.1")["instance"] == .string("new.app2.10001"))
        succeed(&steps, "health_check.0")
        succeed(&steps, "health_check.1")
        (job, steps) = settle(planner, job, steps)
        #expect(running(steps) == ["stage_static"], "the switch waits for the static files")
        succeed(&steps, "stage_static", ["bundle": .string("bundle_shop_1"), "state": .string("staged"),
                                         "fetched": .bool(true)])
        (job, steps) = settle(planner, job, steps)
        let proxy = try args(steps, "proxy_update")
        #expect(proxy["upstreams"] == .array([
            .object(["address": .string("10.0.0.1"), "port": .int(10005)]),
            .object(["address": .string("10.0.0.2"), "port": .int(10001)]),
        ]))
        #expect(proxy["hostnames"] == .array([.string("shop.localhost")]), "the default host name")
        #expect(proxy["static"]?.arrayValue?.count == 1)
        #expect(running(steps) == ["proxy_update"], "nothing is retired before the switch")
        succeed(&steps, "proxy_update", ["urls": .array([.string("http://shop.localhost/")])])
        (job, steps) = settle(planner, job, steps)
        let retire = steps.filter { $0.definition == "retire_old" }
        #expect(retire.map(\.queue) == ["appserver_app1", "appserver_app3"])
        #expect(try args(steps, retire[0].name)["instances"]
                == .array([.string("old.app1.10001"), .string("old.app1.10002")]))
        for step in retire { succeed(&steps, step.name, ["stopped": .array([])]) }
        (job, steps) = settle(planner, job, steps)
        #expect(job.state == .succeeded)
        #expect(job.result?["urls"] == .array([.string("http://shop.localhost/")]))
        #expect(job.result?["instances"]?.arrayValue?.count == 2)
    }

    @Test func aFailedMigrationStopsTheNewInstancesAndLeavesTheOld() throws {
        var (planner, job, steps) = deployed()
        succeed(&steps, "deploy.0", ["appserver": .string("app1"), "instance": .string("new.app1.10005")])
        succeed(&steps, "deploy.1", ["appserver": .string("app2"), "instance": .string("new.app2.10001")])
        (job, steps) = settle(planner, job, steps)
        let index = try #require(steps.firstIndex { $0.name == "post_deploy_hooks" })
        steps[index].state = .failed
        steps[index].errorKind = "migrate"
        steps[index].error = "no such column"
        (job, steps) = settle(planner, job, steps)
        #expect(steps.filter(\.compensation).isEmpty, "the compensation waits for stage_static to end")
        succeed(&steps, "stage_static", ["bundle": .string("bundle_shop_1"), "state": .string("staged"),
                                         "fetched": .bool(true)])
        (job, steps) = settle(planner, job, steps)
        let undo = steps.filter(\.compensation)
        #expect(undo.map(\.name) == ["stop_new_instances.0", "stop_new_instances.1", "unstage_static.0"])
        #expect(undo.map(\.queue) == ["appserver_app1", "appserver_app2", "proxy"])
        #expect(try args(steps, undo[0].name)["instances"] == .array([.string("new.app1.10005")]))
        #expect(try args(steps, "unstage_static.0") == ["project": .string("shop"), "bundle": .string("bundle_shop_1")],
                "what was staged for the release that did not go live is removed")
        #expect(!steps.contains { $0.definition == "proxy_update" || $0.definition == "retire_old" })
        for step in undo { succeed(&steps, step.name) }
        (job, steps) = settle(planner, job, steps)
        #expect(job.state == .failed)
        #expect(job.error?.contains("migrate") == true)
    }

    @Test func undeployRemovesTheSiteFirstAndKeepsTheDatabaseUnlessAsked() throws {
        for dropData in [false, true] {
            let planner = JobPlanner(kind: UndeployJob.kind, queueWait: 60)
            var (job, steps) = settle(planner, JobRecord(id: "U1", kind: "undeploy", project: "shop",
                                                         params: dropData ? ["drop_data": .string("true")] : [:],
                                                         issuedBy: nil, issuedAt: .now()), [])
            #expect(running(steps) == ["remove_proxy_conf"])
            succeed(&steps, "remove_proxy_conf", ["removed": .bool(true)])
            (job, steps) = settle(planner, job, steps)
            #expect(steps.filter { $0.definition == "stop_instances" }.map(\.queue) == ["appserver_app1", "appserver_app3"])
            for step in steps where step.definition == "stop_instances" { succeed(&steps, step.name) }
            (job, steps) = settle(planner, job, steps)
            #expect(steps.contains { $0.definition == "drop_database" && $0.state == .dispatched } == dropData)
            if dropData {
                succeed(&steps, "drop_database.0", ["dropped": .bool(true)])
                (job, steps) = settle(planner, job, steps)
            }
            #expect(job.state == .succeeded)
            #expect(job.result?["database_dropped"] == .bool(dropData))
        }
    }
}

/// Where a job's time went.
@Suite struct JobTimingTests {
    @Test func overlappingStepsCountOnceAndTheGapsAreOverhead() throws {
        let t0 = Timestamp.now()
        func at(_ seconds: Double) -> Timestamp { Timestamp(nanoseconds: t0.nanoseconds + Int64(seconds * 1e9)) }
        var job = JobRecord(id: "J", kind: "k", project: nil, params: [:], issuedBy: nil, issuedAt: t0)
        #expect(JobTiming(job, []) == nil, "no timing while the job runs")
        job.started = at(0)
        job.finished = at(10)
        func step(_ name: String, _ from: Double, _ to: Double) -> StepRecord {
            var step = StepRecord(job: "J", name: name, definition: name, ordinal: 0, queue: "q", task: "t",
                                  taskID: "J." + name, taskFile: "{}", compensation: false, maxAttempts: 1, deadline: nil)
            step.started = at(from)
            step.finished = at(to)
            return step
        }
        let timing = try #require(JobTiming(job, [step("a", 1, 3), step("b", 2, 5), step("c", 6, 9)]))
        #expect(abs(timing.stepsSum - 8) < 1e-6)
        #expect(abs(timing.busy - 7) < 1e-6)
        #expect(abs(timing.overhead - 3) < 1e-6)
    }
}
