import DZJobs
import DZSpool
import DZStore
import DZSystem
import Testing

/// Host names through the deploying kinds and a real zoomdb: checked when placement is planned, claimed when its
/// result comes in (the coordinator's transaction), put live when the job succeeds, released when it ends.
@Suite struct HostnameOwnershipTests {
    /// A zoomdb where `project` has a current release with `hostnames` live.
    func deployed(_ db: ZoomDB, _ project: String, _ hostnames: [String]) throws {
        try db.recordRelease(ReleaseRecord(
            project: project, kind: "build_and_deploy", bundle: "bundle_\(project)_1", sha256: "aaa", revision: "r1",
            wsgi: "\(project).wsgi", staticFiles: .array([]), hostnames: hostnames, configVersion: 0, instances: 1,
            workers: 2, result: "succeeded", job: "D-\(project)"))
        try db.setHostnames(of: project, hostnames)
    }

    func running(_ db: ZoomDB, _ id: String, _ project: String, add: String) throws -> JobRecord {
        var job = JobRecord(id: id, kind: "hostnames", project: project, params: ["add": .string(add)],
                            issuedBy: nil, issuedAt: .now())
        job.state = .running
        try db.insert(job)
        return job
    }

    /// Plans `job` as the coordinator would, with the kind's facts read from `db` now.
    func plan(_ job: JobRecord, _ db: ZoomDB, policy: HostnamePolicy = HostnamePolicy(),
              steps: [StepRecord] = []) throws -> (JobRecord, [StepRecord])
    {
        let kind = HostnamesJob.kind
        let read = try #require(kind.facts)
        let facts = try read(job, db)
        return HandCoordinator(planner: JobPlanner(kind: kind, hostnamePolicy: policy), facts: facts)
            .settle(job, steps)
    }

    /// What `placement`'s result does in the coordinator: its `onSuccess`.
    func placementSucceeded(_ job: JobRecord, _ steps: [StepRecord], _ db: ZoomDB) throws {
        let record = try #require(HostnamesJob.kind.step("placement")?.onSuccess)
        let step = try #require(steps.first { $0.name == "placement" })
        try record(job, step, db)
    }

    /// What the coordinator does when `job` has ended: the kind's `onFinish`.
    func finish(_ job: JobRecord, _ steps: [StepRecord], _ db: ZoomDB) throws {
        let read = try #require(HostnamesJob.kind.facts)
        let onFinish = try #require(HostnamesJob.kind.onFinish)
        let context = HandCoordinator(planner: JobPlanner(kind: HostnamesJob.kind), facts: try read(job, db))
            .context(job, steps)
        try onFinish(job, context, db)
    }

    @Test func ofTwoProjectsAddingOneNameAtOnceOnlyTheFirstPlacementClaimsIt() throws {
        try withTemporaryZoomDB { db in
            try deployed(db, "shop", ["shop.example.com"])
            try deployed(db, "blog", ["blog.example.com"])
            let shopJob = try running(db, "JS", "shop", add: "new.example.com")
            let blogJob = try running(db, "JB", "blog", add: "NEW.example.com")
            // Both planned before either placement answered: the check at planning passes both.
            let (shop, shopSteps) = try plan(shopJob, db)
            let (blog, blogSteps) = try plan(blogJob, db)
            #expect(shop.stopping == nil && blog.stopping == nil)
            #expect(try shopSteps.args("placement")["hostnames"]
                    == .array([.string("shop.example.com"), .string("new.example.com")]))
            #expect(try blogSteps.args("placement")["hostnames"]
                    == .array([.string("blog.example.com"), .string("new.example.com")]))

            try placementSucceeded(shop, shopSteps, db)
            #expect(throws: StepFailure(kind: "hostname-taken", message: "host name new.example.com is taken: it is "
                                        + "being put live by job JS of project shop")) {
                try placementSucceeded(blog, blogSteps, db)
            }
            #expect(try db.hostnameClaims(of: "JS") == ["new.example.com", "shop.example.com"])
            #expect(try db.hostnameClaims(of: "JB").isEmpty)

            // shop's job succeeds: the name is its own, the claims are gone.
            var ended = shop
            ended.state = .succeeded
            ended.finished = .now()
            try db.update(ended)
            try finish(ended, shopSteps, db)
            #expect(try db.hostnames(of: "shop") == ["shop.example.com", "new.example.com"])
            #expect(try db.hostnameClaims(of: "JS").isEmpty)

            // Later tries of blog's fail before anything is dispatched: the name, or a wildcard over it.
            for (id, add, message) in [
                ("JB2", "new.example.com", "host name new.example.com is taken: it belongs to project shop"),
                ("JB3", "*.example.com", "host name *.example.com is taken: "),
            ] {
                let again = try running(db, id, "blog", add: add)
                let (refused, steps) = try plan(again, db)
                #expect(refused.state == .failed)
                #expect(refused.error?.contains(message) == true, "\(refused.error ?? "")")
                #expect(steps.allSatisfy { $0.task == JobPlanner.noTask })
            }
        }
    }

    @Test func aFailedJobReleasesItsClaimAndPutsNothingLive() throws {
        try withTemporaryZoomDB { db in
            try deployed(db, "shop", ["shop.example.com"])
            let job = try running(db, "JS", "shop", add: "new.example.com")
            let (planned, steps) = try plan(job, db)
            try placementSucceeded(planned, steps, db)
            var ended = planned
            ended.state = .failed
            ended.finished = .now()
            try db.update(ended)
            try finish(ended, steps, db)
            #expect(try db.hostnameClaims(of: "JS").isEmpty)
            #expect(try db.hostnames(of: "shop") == ["shop.example.com"])
            #expect(try db.hostnameOwners(except: "blog") == ["shop.example.com": "shop"])
        }
    }

    @Test func refusedNamesFailTheJobBeforePlacement() throws {
        let list = try PublicSuffixList(contentsOf: PublicSuffixList.debianPath)
        try withTemporaryZoomDB { db in
            try deployed(db, "shop", ["shop.example.com"])
            for (index, name) in ["*.com", "co.uk", "127.0.0.1", "localhost", "*.localhost", "blog.localhost"]
                .enumerated()
            {
                let job = try running(db, "J\(index)", "shop", add: name)
                let (refused, steps) = try plan(job, db, policy: HostnamePolicy(suffixes: list))
                #expect(refused.state == .failed, "\(name)")
                #expect(refused.error?.contains("host name \(name) is refused") == true, "\(refused.error ?? "")")
                #expect(steps.allSatisfy { $0.task == JobPlanner.noTask }, "\(name): nothing dispatched")
            }
        }
    }

    @Test func aBuildsConfiguredNamesAreCheckedToo() throws {
        // build_and_deploy takes its names from the project's zoombuild.cfg when none are given or recorded:
        // the repository's owner writes that file.
        let planner = JobPlanner(kind: BuildAndDeployJob.kind, queueWait: 60)
        let job = JobRecord(id: "J9", kind: "build_and_deploy", project: "shop",
                            params: ["source": .string("git://x/shop")], issuedBy: nil, issuedAt: .now())
        let coordinator = HandCoordinator(planner: planner, facts: ["secret_key": .string("k")])
        var (settled, steps) = coordinator.settle(job, [])
        steps.succeed("check_repo", ["zoombuild_cfg": .string("[project]\n")])
        (settled, steps) = coordinator.settle(settled, steps)
        steps.succeed("check_placement")
        (settled, steps) = coordinator.settle(settled, steps)
        steps.succeed("build_bundle", ["bundle": .string("bundle_shop_1"), "wsgi": .string("shop.wsgi"),
                                       "hostnames": .array([.string("localhost")])])
        (settled, steps) = coordinator.settle(settled, steps)
        steps.succeed("create_database", ["engine": .string("sqlite"), "name": .string("/x/db.sqlite3")])
        steps.succeed("bundle_upload", ["bundle": .string("bundle_shop_1"), "sha256": .string("abc")])
        (settled, steps) = coordinator.settle(settled, steps)
        #expect(settled.stopping == .failing)
        #expect(settled.error?.contains("host name localhost is refused") == true, "\(settled.error ?? "")")
        #expect(!steps.contains { $0.name == "placement" && $0.task != JobPlanner.noTask })
    }
}
