import DZSpool
import DZStore
import DZSystem
import Testing

/// The app's life after its first deploy in the zoomdb: releases, the environment and its version, the formation,
/// host names, and which projects run on an appserver.
@Suite struct ReleaseStoreTests {
    /// Runs `body` with a new zoomdb in a temporary directory (made and removed as `ZoomDBTests` does).
    func withZoomDB(_ body: (ZoomDB) throws -> Void) throws {
        let paths = ZoomDBTests()
        let path = paths.temporaryPath()
        defer { paths.cleanup(path) }
        try body(try ZoomDB(path: path))
    }

    func release(_ project: String, _ bundle: String, result: String = "succeeded", job: String? = nil)
        -> ReleaseRecord
    {
        ReleaseRecord(project: project, kind: "build_and_deploy", bundle: bundle, wsgi: "app.wsgi",
                      hostnames: [project + ".localhost"], configVersion: 0, result: result, job: job)
    }

    // MARK: Releases

    @Test func releasesAreNumberedPerProjectFromOne() throws {
        try withZoomDB { db throws in
            #expect(try db.recordRelease(release("shop", "bundle_shop_1", job: "J1")) == 1)
            #expect(try db.recordRelease(release("blog", "bundle_blog_1", job: "J2")) == 1, "each project counts")
            #expect(try db.recordRelease(release("shop", "bundle_shop_2", result: "failed", job: "J3")) == 2)
            #expect(try db.recordRelease(release("shop", "bundle_shop_3")) == 3, "a release without a job")
            #expect(try db.recordRelease(release("blog", "bundle_blog_2", job: "J4")) == 2)
            #expect(try db.releases(of: "shop").map(\.number) == [3, 2, 1], "newest first")
            #expect(try db.releases(of: "shop", limit: 2).map(\.bundle) == ["bundle_shop_3", "bundle_shop_2"])
            #expect(try db.releases(of: "nobody").isEmpty)
        }
    }

    @Test func aSecondRecordOfTheSameJobReturnsItsNumberAndAddsNothing() throws {
        try withZoomDB { db throws in
            try db.recordRelease(release("shop", "bundle_shop_1", job: "J1"))
            #expect(try db.recordRelease(release("shop", "bundle_shop_2", job: "J2")) == 2)
            #expect(try db.recordRelease(release("shop", "bundle_shop_9", result: "failed", job: "J2")) == 2)
            #expect(try db.releases(of: "shop").count == 2)
            #expect(try db.release(of: "shop", number: 2)?.bundle == "bundle_shop_2", "the first record stands")
        }
    }

    @Test func theCurrentReleaseIsTheNewestSucceeded() throws {
        try withZoomDB { db throws in
            #expect(try db.currentRelease(of: "shop") == nil)
            try db.recordRelease(release("shop", "bundle_shop_1", job: "J1"))
            try db.recordRelease(release("shop", "bundle_shop_2", job: "J2"))
            try db.recordRelease(release("shop", "bundle_shop_3", result: "failed", job: "J3"))
            try db.recordRelease(release("shop", "bundle_shop_4", result: "cancelled", job: "J4"))
            try db.recordRelease(release("blog", "bundle_blog_1", job: "J5"))
            let current = try #require(try db.currentRelease(of: "shop"))
            #expect(current.number == 2 && current.bundle == "bundle_shop_2")
            #expect(current.succeeded)
            #expect(try db.release(of: "shop", number: 3)?.succeeded == false)
            #expect(try db.release(of: "shop", number: 9) == nil)
        }
    }

    @Test func everyFieldOfAReleaseRoundTrips() throws {
        try withZoomDB { db throws in
            let staticFiles: JSONValue = .array([
                .object(["url": .string("/static/"), "path": .string("static")]),
                .object(["url": .string("/media/"), "path": .string("media"), "expires": .int(3600)]),
            ])
            var full = ReleaseRecord(
                project: "shop", kind: "rollback", description: "rollback to release 1", bundle: "bundle_shop_1",
                sha256: "ab12", revision: "0123abc", wsgi: "shop.wsgi", staticFiles: staticFiles,
                hostnames: ["shop.example.com", "*.shop.example.com"], configVersion: 7, instances: 3, workers: 5,
                clientMaxBodySize: "25m", result: "succeeded", job: "J1", issuedBy: "alice@host",
                created: Timestamp(nanoseconds: 1_700_000_000_000_000_000))
            full.number = try db.recordRelease(full)
            #expect(try db.release(of: "shop", number: 1) == full)
            #expect(try db.releases(of: "shop") == [full])
            // The facts' form round trips too, but for the time (read back as now: nothing reading the facts uses it).
            var fromFacts = try #require(ReleaseRecord(project: "shop", json: full.jsonObject))
            fromFacts.created = full.created
            #expect(fromFacts == full)

            var bare = ReleaseRecord(project: "shop", kind: "config", bundle: "bundle_shop_2", wsgi: "shop.wsgi",
                                     hostnames: [], configVersion: 0, result: "failed",
                                     created: Timestamp(nanoseconds: 1_700_000_100_000_000_000))
            bare.number = try db.recordRelease(bare)
            let read = try #require(try db.release(of: "shop", number: 2))
            #expect(read == bare)
            #expect(read.staticFiles == .array([]) && read.hostnames.isEmpty)
            #expect(read.description == nil && read.sha256 == nil && read.instances == nil && read.workers == nil)
            #expect(read.clientMaxBodySize == nil && read.job == nil && read.issuedBy == nil)
        }
    }

    // MARK: Environment

    @Test func changingTheEnvironmentBumpsItsVersionOnlyWhenSomethingChanges() throws {
        try withZoomDB { db throws in
            #expect(try db.configVersion(of: "shop") == 0)
            #expect(try db.environment(of: "shop").isEmpty)
            #expect(try db.changeEnvironment(of: "shop", set: ["A": "1", "B": "2"], unset: []) == 1)
            #expect(try db.environment(of: "shop") == ["A": "1", "B": "2"])
            #expect(try db.changeEnvironment(of: "shop", set: ["A": "1"], unset: []) == 1, "the same value")
            #expect(try db.changeEnvironment(of: "shop", set: [:], unset: ["MISSING"]) == 1, "unset of a missing name")
            #expect(try db.changeEnvironment(of: "shop", set: [:], unset: []) == 1)
            #expect(try db.changeEnvironment(of: "shop", set: ["A": "one"], unset: ["B", "MISSING"]) == 2,
                    "several changes at once are one version")
            #expect(try db.environment(of: "shop") == ["A": "one"])
            #expect(try db.changeEnvironment(of: "shop", set: [:], unset: ["A"]) == 3)
            #expect(try db.environment(of: "shop").isEmpty)
            #expect(try db.changeEnvironment(of: "shop", set: ["EMPTY": ""], unset: []) == 4, "an empty value is set")
            #expect(try db.environment(of: "shop") == ["EMPTY": ""])
            #expect(try db.configVersion(of: "shop") == 4)
        }
    }

    @Test func eachProjectHasItsOwnEnvironment() throws {
        try withZoomDB { db throws in
            try db.changeEnvironment(of: "shop", set: ["A": "shop"], unset: [])
            try db.changeEnvironment(of: "blog", set: ["A": "blog", "B": "b"], unset: [])
            try db.changeEnvironment(of: "blog", set: [:], unset: ["B"])
            #expect(try db.environment(of: "shop") == ["A": "shop"])
            #expect(try db.environment(of: "blog") == ["A": "blog"])
            #expect(try db.configVersion(of: "shop") == 1)
            #expect(try db.configVersion(of: "blog") == 2)
            #expect(try db.configVersion(of: "nobody") == 0)
        }
    }

    // MARK: Formation

    @Test func theFormationKeepsWhatIsNotGiven() throws {
        try withZoomDB { db throws in
            #expect(try db.formation(of: "shop") == (nil, nil), "no project")
            try db.setFormation(of: "shop", instances: 3, workers: nil)
            #expect(try db.formation(of: "shop") == (3, nil))
            try db.setFormation(of: "shop", instances: nil, workers: 4)
            #expect(try db.formation(of: "shop") == (3, 4), "nil keeps the instances")
            try db.setFormation(of: "shop", instances: 1, workers: 2)
            #expect(try db.formation(of: "shop") == (1, 2))
            try db.setFormation(of: "shop", instances: nil, workers: nil)
            #expect(try db.formation(of: "shop") == (1, 2))
            #expect(try db.formation(of: "blog") == (nil, nil))
        }
    }

    // MARK: Host names

    @Test func hostnamesAreReplacedAndTheirOwnersFound() throws {
        try withZoomDB { db throws in
            #expect(try db.hostnames(of: "shop").isEmpty)
            try db.setHostnames(of: "shop", ["shop.example.com", "*.shop.example.com"])
            try db.setHostnames(of: "blog", ["blog.example.com"])
            #expect(try db.hostnames(of: "shop") == ["shop.example.com", "*.shop.example.com"], "in the order given")
            #expect(try db.project(owningHostname: "*.shop.example.com") == "shop")
            #expect(try db.project(owningHostname: "blog.example.com") == "blog")
            #expect(try db.project(owningHostname: "nowhere.example.com") == nil)
            #expect(try db.hostnameOwners(except: "shop") == ["blog.example.com": "blog"])
            #expect(try db.hostnameOwners(except: "blog")
                    == ["shop.example.com": "shop", "*.shop.example.com": "shop"])
            #expect(try db.hostnameOwners(except: "other").count == 3)

            try db.setHostnames(of: "shop", ["www.shop.example.com"])
            #expect(try db.hostnames(of: "shop") == ["www.shop.example.com"], "replaced, not added")
            #expect(try db.project(owningHostname: "shop.example.com") == nil, "a removed name is free")
            try db.setHostnames(of: "blog", [])
            #expect(try db.hostnames(of: "blog").isEmpty)
            #expect(try db.hostnameOwners(except: "shop").isEmpty)
        }
    }

    @Test func wildcardNamesAreMarked() throws {
        try withZoomDB { db throws in
            try db.setHostnames(of: "shop", ["shop.example.com", "*.shop.example.com"])
            let rows = try db.database.query("SELECT hostname, is_wildcard FROM virtual_hostnames ORDER BY id")
            #expect(rows.map { $0.int("is_wildcard") } == [0, 1])
        }
    }

    // MARK: Deployments

    @Test func projectsWithInstancesOnAnAppserverCountOnlyRunningOnes() throws {
        try withZoomDB { db throws in
            func deploy(_ project: String, _ appserver: String, _ port: Int) throws {
                try db.recordDeployment(DeploymentRecord(
                    project: project, bundle: "bundle_\(project)_1", appserver: appserver,
                    instance: "bundle_\(project)_1.\(appserver).\(port)", host: "127.0.0.1", port: port))
            }
            try deploy("shop", "app1", 10001)
            try deploy("shop", "app1", 10002)
            try deploy("blog", "app1", 10003)
            try deploy("wiki", "app2", 10001)
            try deploy("docs", "app1", 10004)
            try db.deactivateDeployments(["bundle_docs_1.app1.10004"])
            #expect(try db.projects(withInstancesOn: "app1") == ["blog", "shop"], "once each, sorted, stopped left out")
            #expect(try db.projects(withInstancesOn: "app2") == ["wiki"])
            #expect(try db.projects(withInstancesOn: "app3").isEmpty)
        }
    }
}
