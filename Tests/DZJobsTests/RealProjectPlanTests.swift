@testable import DZJobs
import DZSpool
import DZStore
import DZSystem
import Testing

/// What build_and_deploy passes on for projects as they are: the Python and engine check_placement chose, the
/// job's own config to check_repo, and `--param release=false` to post_deploy_hooks.
@Suite struct RealProjectPlanTests {
    @Test func theJobsChoicesReachTheStepsThatActOnThem() throws {
        let plans = BuildAndDeployPlanTests()
        let config = "[project]\ndjango_settings_module = shop.settings\npython_version = ^3.11\n"
        let planner = JobPlanner(kind: BuildAndDeployJob.kind, queueWait: 60)
        var (job, steps) = plans.settle(planner, JobRecord(
            id: "J1", kind: "build_and_deploy", project: "shop",
            params: ["source": .string("s"), "zoombuild_cfg": .string(config), "release": .string("false")],
            issuedBy: nil, issuedAt: .now()), [])
        let checked = try steps.args("check_repo")
        #expect(checked["require_python"] == .bool(true) && checked["zoombuild_cfg"] == .string(config))
        #expect(checked["release"] == .bool(false), "no release command to refuse")
        steps.succeed("check_repo", ["zoombuild_cfg": .string("[project]\n")])
        (job, steps) = plans.settle(planner, job, steps)
        steps.succeed("check_placement", ["python": .string("3.12"), "engine": .string("postgresql")])
        (job, steps) = plans.settle(planner, job, steps)
        let build = try steps.args("build_bundle")
        #expect(build["python"] == .string("3.12"))
        #expect(build["db_engine"] == .string("postgresql"), "the recorded database's engine")
        steps.succeed("build_bundle", ["bundle": .string("bundle_shop_1"), "wsgi": .string("shop.wsgi"),
                                       "static": .array([]), "hostnames": .array([])])
        (job, steps) = plans.settle(planner, job, steps)
        steps.succeed("create_database", ["engine": .string("postgresql"), "name": .string("shop")])
        steps.succeed("bundle_upload", ["bundle": .string("bundle_shop_1"), "sha256": .string("abc")])
        (job, steps) = plans.settle(planner, job, steps)
        steps.succeed("placement", ["appservers": .array([.string("app1")])])
        (job, steps) = plans.settle(planner, job, steps)
        for step in steps where step.definition == "deploy" {
            steps.succeed(step.name, ["instance": .string("new.app1.10005"), "appserver": .string("app1"),
                                      "address": .string("127.0.0.1"), "port": .int(10005)])
        }
        (job, steps) = plans.settle(planner, job, steps)
        #expect(try steps.args("post_deploy_hooks")["release"] == .bool(false))
    }
}
