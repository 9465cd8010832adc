import DZJobs
import DZSpool
import DZStore
import DZSystem
import Testing

/// config and hostnames through the planner: a new release of the current bundle with the environment or the host
/// names changed.
@Suite struct ReleaseChangePlanTests {
    func coordinator(_ kind: JobKind, facts: [String: JSONValue] = ShopFixture.facts) -> HandCoordinator {
        HandCoordinator(planner: JobPlanner(kind: kind, queueWait: 60), facts: facts)
    }

    // MARK: config

    @Test func configRedeploysTheCurrentBundleWithTheEnvironmentOfNow() throws {
        let coordinator = coordinator(ConfigJob.kind)
        var (job, steps) = ShopFixture.throughHealthCheck(coordinator, ShopFixture.job("config"),
                                                          bundle: "bundle_shop_2")
        #expect(try steps.args("placement")["count"] == .int(2))
        let deploy = try steps.args("deploy.0")
        #expect(deploy["bundle"] == .string("bundle_shop_2") && deploy["sha256"] == .string("bbb"))
        #expect(deploy["wsgi"] == .string("shop.wsgi"))
        #expect(deploy["environment"] == .object(["GREETING": .string("hello")]))
        #expect(deploy["workers"] == .int(3))
        #expect(deploy["hostnames"] == .array([.string("shop.example.com"), .string("shop.localhost")]))
        #expect(steps.running == ["proxy_update"])
        #expect(try steps.args("proxy_update")["static"] == ShopFixture.current.staticFiles)
        steps.succeed("proxy_update")
        (job, steps) = coordinator.settle(job, steps)
        for step in steps.tasks(of: "retire_old") { steps.succeed(step.name) }
        (job, steps) = coordinator.settle(job, steps)
        #expect(job.state == .succeeded)
        #expect(job.result?["config_version"] == .int(5))
    }

    @Test func configWithoutAReleaseFailsSayingToDeployFirst() {
        var facts = ShopFixture.facts
        facts["current"] = nil
        let (job, steps) = coordinator(ConfigJob.kind, facts: facts).settle(ShopFixture.job("config"), [])
        #expect(job.state == .failed)
        #expect(job.error?.contains("project shop has no release to deploy: run `dz deploy` first") == true,
                "\(job.error ?? "")")
        #expect(steps.allSatisfy { $0.task == JobPlanner.noTask })
    }

    // MARK: hostnames

    /// The host names hostnames' deploy, health check and proxy steps are given, or the job's error.
    func hostnames(_ params: [String: JSONValue], facts: [String: JSONValue] = ShopFixture.facts)
        throws -> Result<[JSONValue], JobError>
    {
        let coordinator = coordinator(HostnamesJob.kind, facts: facts)
        let (job, steps) = ShopFixture.throughHealthCheck(coordinator, ShopFixture.job("hostnames", params),
                                                          bundle: "bundle_shop_2")
        guard job.stopping == nil else { return .failure(.refused(job.error ?? "")) }
        let deploy = try steps.args("deploy.1")["hostnames"]
        #expect(try steps.args("health_check.0")["hostnames"] == deploy)
        let proxy = try steps.args("proxy_update")
        #expect(proxy["hostnames"] == deploy)
        #expect(proxy["bundle"] == .string("bundle_shop_2"))
        return .success(deploy?.arrayValue ?? [])
    }

    func error(_ result: Result<[JSONValue], JobError>) -> String {
        if case .failure(let error) = result { return error.message }
        return "no error"
    }

    @Test func namesAreAddedInLowerCaseAfterTheOthers() throws {
        #expect(try hostnames(["add": .string("WWW.Shop.Example.COM, *.Shop.example.com")]).get()
                == [.string("shop.example.com"), .string("shop.localhost"), .string("www.shop.example.com"),
                    .string("*.shop.example.com")])
    }

    @Test func namesAreRemovedWhateverTheirCase() throws {
        #expect(try hostnames(["remove": .string("SHOP.localhost")]).get() == [.string("shop.example.com")])
        #expect(try hostnames(["add": .string("new.example.com"), "remove": .string("shop.localhost")]).get()
                == [.string("shop.example.com"), .string("new.example.com")])
    }

    @Test func aNameAlreadyThereIsRefused() throws {
        #expect(error(try hostnames(["add": .string("Shop.Example.com")]))
                .contains("shop.example.com is already a host name of shop"))
    }

    @Test func removingAMissingNameIsRefused() throws {
        #expect(error(try hostnames(["remove": .string("blog.example.com")]))
                .contains("blog.example.com is not a host name of shop"))
    }

    @Test func removingTheLastNameIsRefused() throws {
        #expect(error(try hostnames(["remove": .string("shop.example.com,shop.localhost")]))
                .contains("an app needs at least one host name: add another first"))
    }

    @Test func nothingToChangeIsRefused() throws {
        #expect(error(try hostnames([:])).contains("hostnames needs --param add=NAME or remove=NAME"))
        #expect(error(try hostnames(["add": .string(" , ")])).contains("hostnames needs --param add=NAME"))
    }

    @Test func aNameAnotherProjectHasIsRefusedBeforePlacement() throws {
        let coordinator = coordinator(HostnamesJob.kind)
        let (job, steps) = coordinator.settle(ShopFixture.job("hostnames", ["add": .string("Blog.example.com")]), [])
        #expect(job.state == .failed)
        #expect(job.error?.contains("host name blog.example.com is taken: it belongs to project blog: remove it there first")
                == true,
                "\(job.error ?? "")")
        #expect(steps.allSatisfy { $0.task == JobPlanner.noTask })
    }

    @Test func theNamesStartFromTheReleasesWhenNoneAreRecorded() throws {
        var facts = ShopFixture.facts
        facts["hostnames"] = .array([])
        #expect(try hostnames(["add": .string("www.example.com")], facts: facts).get()
                == [.string("shop.localhost"), .string("www.example.com")])
    }
}
