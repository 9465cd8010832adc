import DZJobs
import DZSpool
import DZStore
import DZSystem
import Testing

/// `dz undeploy` of a project that was never deployed, or is no longer, says so rather than succeeding.
@Suite struct UndeployReportTests {
    @Test func anUndeployThatFoundNothingSaysWhetherTheProjectWasEverDeployed() throws {
        for deployed in [false, true] {
            let coordinator = HandCoordinator(planner: JobPlanner(kind: UndeployJob.kind, queueWait: 60),
                                              facts: ["deployed": .bool(deployed)])
            var (job, steps) = coordinator.settle(JobRecord(id: "U1", kind: "undeploy", project: "ghost", params: [:],
                                                            issuedBy: nil, issuedAt: .now()), [])
            steps.succeed("remove_proxy_conf", ["removed": .bool(false)])
            (job, steps) = coordinator.settle(job, steps)
            #expect(job.state == .succeeded)
            let result = try #require(job.result)
            #expect(result["was_deployed"] == .bool(deployed))
            #expect(UndeployJob.nothingUndeployed(project: "ghost", result: result)
                == (deployed ? "project ghost is not deployed: no site or instance was left to remove"
                    : "project ghost was never deployed: nothing to undeploy"))
        }
        #expect(UndeployJob.nothingUndeployed(project: "shop", result: ["site_removed": .bool(true), "was_deployed": .bool(true)])
            == nil, "an undeploy that removed the site succeeded")
    }
}
