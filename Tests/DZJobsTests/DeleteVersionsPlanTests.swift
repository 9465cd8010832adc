import DZJobs
import DZSpool
import DZStore
import DZSystem
import Foundation
import Testing

/// delete_versions through the planner: bundles in use or of another project are refused before anything is
/// deleted, with the facts read from a real zoomdb.
@Suite struct DeleteVersionsPlanTests {
    /// A zoomdb with three bundles of `shop` (one deployed, one stopped long ago) and one of `blog`.
    func zoomdb(in directory: String) throws -> ZoomDB {
        let db = try ZoomDB(path: directory + "/zoomdb.sqlite3")
        for (project, name) in [("shop", "bundle_shop_1"), ("shop", "bundle_shop_2"), ("shop", "bundle_shop_3"),
                                ("blog", "bundle_blog_1")] {
            try db.recordBundle(project: project, name: name, codeRevision: "abc", sha256: nil, size: 10,
                                storageURL: nil)
        }
        try db.recordDeployment(DeploymentRecord(project: "shop", bundle: "bundle_shop_2", appserver: "app1",
                                                 instance: "bundle_shop_2.app1.10001", host: "127.0.0.1", port: 10001))
        try db.recordDeployment(DeploymentRecord(project: "shop", bundle: "bundle_shop_1", appserver: "app1",
                                                 instance: "bundle_shop_1.app1.10002", host: "127.0.0.1", port: 10002))
        try db.deactivateDeployments(["bundle_shop_1.app1.10002"])
        try db.recordDeployment(DeploymentRecord(project: "blog", bundle: "bundle_blog_1", appserver: "app1",
                                                 instance: "bundle_blog_1.app1.10003", host: "127.0.0.1", port: 10003))
        return db
    }

    func withZoomDB(_ body: (ZoomDB) throws -> Void) throws {
        let directory = NSTemporaryDirectory() + "dz-delete-versions-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try body(try zoomdb(in: directory))
    }

    /// Plans a delete_versions job of `shop` for `bundles` with the kind's own facts.
    func plan(_ bundles: String, _ db: ZoomDB) throws -> JobPlanner.Plan {
        let kind = DeleteVersionsJob.kind
        let job = JobRecord(id: "J1", kind: "delete_versions", project: "shop", params: ["bundles": .string(bundles)],
                            issuedBy: nil, issuedAt: .now())
        let read = try #require(kind.facts)
        let facts = try read(job, db)
        return JobPlanner(kind: kind, queueWait: 60).plan(job, steps: [], facts: facts)
    }

    func args(_ plan: JobPlanner.Plan) throws -> [String: JSONValue] {
        let step = try #require(plan.newSteps.first)
        return try TaskFile(parsing: Array(step.taskFile.utf8), stem: step.taskID).args
    }

    @Test func releasesNameTheirBundles() throws {
        try withZoomDB { db in
            for (number, bundle) in [(1, "bundle_shop_1"), (2, "bundle_shop_2")] {
                try db.recordRelease(ReleaseRecord(project: "shop", kind: "build_and_deploy", bundle: bundle,
                                                   wsgi: "shop.wsgi", hostnames: ["shop.test"], configVersion: 0,
                                                   result: "succeeded", job: "J\(number)"))
            }
            let first = try plan("v1", db)
            #expect(first.job.stopping == nil, "\(first.job.error ?? "")")
            #expect(try args(first)["bundles"] == .array([.string("bundle_shop_1")]))
            let deployed = try plan("2", db)
            #expect(deployed.job.error?.contains("bundle_shop_2 is deployed") == true, "\(deployed.job.error ?? "")")
            let unknown = try plan("v9", db)
            #expect(unknown.job.error?.contains("no bundle v9 of project shop") == true, "\(unknown.job.error ?? "")")
        }
    }

    @Test func unusedBundlesOfTheProjectAreSentToTheTask() throws {
        try withZoomDB { db in
            let plan = try plan("bundle_shop_1, bundle_shop_3,bundle_shop_1", db)
            #expect(plan.job.stopping == nil, "\(plan.job.error ?? "")")
            #expect(plan.newSteps.map(\.queue) == ["build"])
            let args = try args(plan)
            #expect(args["project"] == .string("shop"))
            #expect(args["bundles"] == .array([.string("bundle_shop_1"), .string("bundle_shop_3")]),
                    "a bundle deployed once but stopped since is not in use")
        }
    }

    @Test func aDeployedBundleFailsThePlanningAndNothingIsSent() throws {
        try withZoomDB { db in
            let plan = try plan("bundle_shop_1,bundle_shop_2", db)
            #expect(plan.newSteps.isEmpty, "no task: nothing is deleted")
            #expect(plan.job.stopping == .failing)
            let error = try #require(plan.job.error)
            #expect(error.contains("bundle_shop_2 is deployed (active instances of project shop run it"), "\(error)")
            #expect(!error.contains("bundle_shop_1"), "\(error)")
            #expect(error.contains("nothing deleted"), "\(error)")
        }
    }

    @Test func anotherProjectsBundleIsRefusedEvenUnderAMatchingName() throws {
        try withZoomDB { db in
            let foreign = try plan("bundle_shop_3,bundle_blog_1", db)
            #expect(foreign.newSteps.isEmpty)
            #expect(foreign.job.error?.contains("not bundles of project shop: bundle_blog_1 (project blog)") == true,
                    "\(foreign.job.error ?? "")")

            // A name the zoomdb does not know is taken only if it reads as one of the project's bundles.
            let unknown = try plan("bundle_shop_9,../../etc", db)
            #expect(unknown.newSteps.isEmpty)
            #expect(unknown.job.error?.contains("no bundle ../../etc of project shop") == true,
                    "\(unknown.job.error ?? "")")
            let lost = try plan("bundle_shop_9", db)
            #expect(try args(lost)["bundles"] == .array([.string("bundle_shop_9")]))
        }
    }

    @Test func withoutTheDeploymentFactsNothingIsPlanned() {
        let job = JobRecord(id: "J2", kind: "delete_versions", project: "shop",
                            params: ["bundles": .string("bundle_shop_1")], issuedBy: nil, issuedAt: .now())
        let plan = JobPlanner(kind: DeleteVersionsJob.kind, queueWait: 60).plan(job, steps: [], facts: [:])
        #expect(plan.newSteps.isEmpty && plan.job.stopping == .failing, "fails closed")
    }
}
