@testable import DZJobs
import DZSpool
import DZStore
import DZSystem
import Testing

/// Persistent media in the job graphs: MEDIA_URL from the build reaches proxy_update apart from the bundle's
/// static mappings (and stays in the release, for rollbacks), and undeploy with drop_data removes the media
/// directory on every appserver the project ran on, and only then.
@Suite struct MediaPlanTests {
    @Test func theBuildsMediaURLReachesTheProxyApartFromTheStaticMappings() throws {
        let plans = BuildAndDeployPlanTests()
        let planner = JobPlanner(kind: BuildAndDeployJob.kind, queueWait: 60)
        var (job, steps) = plans.settle(planner, JobRecord(id: "J1", kind: "build_and_deploy", project: "shop",
                                                           params: ["source": .string("s")], issuedBy: nil,
                                                           issuedAt: .now()), [])
        steps.succeed("check_repo", ["zoombuild_cfg": .string("[project]\n")])
        (job, steps) = plans.settle(planner, job, steps)
        steps.succeed("check_placement")
        (job, steps) = plans.settle(planner, job, steps)
        let staticEntry: JSONValue = .object(["url": .string("/static/"), "path": .string("static")])
        let mediaEntry: JSONValue = .object(["url": .string("/uploads/"), "media": .bool(true)])
        steps.succeed("build_bundle", ["bundle": .string("bundle_shop_1"), "wsgi": .string("shop.wsgi"),
                                       "static": .array([staticEntry, mediaEntry]), "hostnames": .array([])])
        (job, steps) = plans.settle(planner, job, steps)
        steps.succeed("create_database", ["engine": .string("postgresql"), "name": .string("shop")])
        steps.succeed("bundle_upload", ["bundle": .string("bundle_shop_1"), "sha256": .string("abc")])
        (job, steps) = plans.settle(planner, job, steps)
        steps.succeed("placement", ["appservers": .array([.string("app1")])])
        (job, steps) = plans.settle(planner, job, steps)
        steps.succeed("deploy.0", ["instance": .string("new.app1.10005"), "appserver": .string("app1"),
                                 "address": .string("127.0.0.1"), "port": .int(10005)])
        (job, steps) = plans.settle(planner, job, steps)
        steps.succeed("post_deploy_hooks")
        (job, steps) = plans.settle(planner, job, steps)
        steps.succeed("health_check.0")
        #expect(try steps.args("stage_static")["static"] == .array([staticEntry]), "the media are not staged")
        steps.succeed("stage_static", ["bundle": .string("bundle_shop_1"), "state": .string("staged")])
        (job, steps) = plans.settle(planner, job, steps)
        let proxy = try steps.args("proxy_update")
        #expect(proxy["static"] == .array([staticEntry]), "the bundle's own mappings only")
        #expect(proxy["media_url"] == .string("/uploads/"))

        // A release recorded with the entry (what rollback redeploys) gives the proxy the same.
        var context = JobContext(jobID: "R1", kind: "rollback", project: "shop", params: [:], outputs: [:])
        context.facts = ["target": .object(ReleaseRecord(project: "shop", kind: "build_and_deploy", bundle: "bundle_shop_1",
                                                         wsgi: "shop.wsgi", staticFiles: .array([staticEntry, mediaEntry]),
                                                         hostnames: ["shop.test"], configVersion: 0,
                                                         result: "succeeded").jsonObject)]
        let spec = try ReleaseSpec.redeploying("target", context)
        let rolledBack = try ReleaseSteps.proxyArguments(context, spec, upstreams: [
            ["address": .string("127.0.0.1"), "port": .int(10006)],
        ])
        #expect(rolledBack["static"] == .array([staticEntry]) && rolledBack["media_url"] == .string("/uploads/"))
    }

    @Test func undeployDropsTheMediaOnEveryAppserverTheProjectRanOnOnlyWithDropDataAndAGoneOneIsAWarning() throws {
        let facts: [String: JSONValue] = [
            "deployed": .bool(true), "database_engine": .string("postgresql"),
            "appservers": .array([.string("app1"), .string("app3")]),
            "active": .array([.object(["appserver": .string("app1"), "instance": .string("i.app1.1")])]),
        ]
        for dropData in [false, true] {
            let coordinator = HandCoordinator(planner: JobPlanner(kind: UndeployJob.kind, queueWait: 60), facts: facts)
            var (job, steps) = coordinator.settle(JobRecord(
                id: "U1", kind: "undeploy", project: "shop",
                params: dropData ? ["drop_data": .string("true")] : [:], issuedBy: nil, issuedAt: .now()), [])
            steps.succeed("remove_proxy_conf", ["removed": .bool(true)])
            (job, steps) = coordinator.settle(job, steps)
            steps.succeed("stop_instances.0", ["stopped": .array([.string("i.app1.1")])])
            (job, steps) = coordinator.settle(job, steps)
            let drops = steps.filter { $0.definition == "drop_media" && $0.state == .dispatched }
            guard dropData else {
                #expect(drops.isEmpty && steps.running.isEmpty && job.state == .succeeded,
                        "the media are kept: \(steps.map { "\($0.name) \($0.state)" })")
                #expect(job.result?["media_dropped"] == .array([]))
                continue
            }
            try #require(drops.map(\.queue) == ["appserver_app1", "appserver_app3"], "\(steps.map(\.name))")
            #expect(try steps.args(drops[0].name) == ["project": .string("shop")])
            steps.succeed("drop_database.0", ["dropped": .bool(true)])
            steps.succeed(drops[0].name, ["dropped": .bool(true), "directory": .string("/apps/.media/shop")])
            // app3 is gone: its task fails, and that is only a warning.
            steps.fail(drops[1].name, kind: "timeout", "no answer")
            (job, steps) = coordinator.settle(job, steps)
            #expect(job.state == .succeeded)
            #expect(job.result?["media_dropped"] == .array([.string("/apps/.media/shop")]))
        }
    }
}
