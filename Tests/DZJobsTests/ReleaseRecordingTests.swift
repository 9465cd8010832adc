import DZJobs
import DZSpool
import DZStore
import DZSystem
import Testing

/// What a deploying job records when it ends (`JobKind.onFinish`, `ReleaseSteps.recordRelease`), in a real zoomdb
/// with the kind's own facts.
@Suite struct ReleaseRecordingTests {
    let finished = Timestamp(nanoseconds: 1_800_000_000_000_000_000)

    /// A zoomdb where shop's release 1 (bundle_shop_1) is current; no formation or host names are recorded yet.
    func shop(_ db: ZoomDB) throws {
        try db.recordRelease(ReleaseRecord(
            project: "shop", kind: "build_and_deploy", bundle: "bundle_shop_1", sha256: "aaa", revision: "r1",
            wsgi: "shop.wsgi", staticFiles: .array([.object(["url": .string("/static/"), "path": .string("static")])]),
            hostnames: ["shop.localhost"], configVersion: 0, instances: 2, workers: 3, clientMaxBodySize: "5m",
            result: "succeeded", job: "J1"))
        try db.changeEnvironment(of: "shop", set: ["GREETING": "hello"], unset: [])
    }

    /// Ends `job` as `state` and lets its kind record what it came to, as the coordinator does.
    func finish(_ kind: JobKind, _ job: JobRecord, _ state: JobRecord.State, _ db: ZoomDB) throws {
        var job = job
        job.state = state
        job.finished = finished
        _ = try db.insert(job)
        let read = try #require(kind.facts)
        let onFinish = try #require(kind.onFinish)
        let context = HandCoordinator(planner: JobPlanner(kind: kind), facts: try read(job, db)).context(job, [])
        try onFinish(job, context, db)
    }

    @Test func aSucceededHostnamesJobRecordsItsReleaseAndPutsItsNamesAndFormationLive() throws {
        try withTemporaryZoomDB { db throws in
            try shop(db)
            let job = JobRecord(id: "J2", kind: "hostnames", project: "shop",
                                params: ["add": .string("WWW.example.com")], issuedBy: "alice", issuedAt: .now())
            try finish(HostnamesJob.kind, job, .succeeded, db)
            let release = try #require(try db.release(of: "shop", number: 2))
            #expect(release == ReleaseRecord(
                project: "shop", number: 2, kind: "hostnames", description: "add WWW.example.com",
                bundle: "bundle_shop_1", sha256: "aaa", revision: "r1", wsgi: "shop.wsgi",
                staticFiles: .array([.object(["url": .string("/static/"), "path": .string("static")])]),
                hostnames: ["shop.localhost", "www.example.com"], configVersion: 1, instances: 2, workers: 3,
                clientMaxBodySize: "5m", result: "succeeded", job: "J2", issuedBy: "alice", created: finished))
            #expect(try db.currentRelease(of: "shop")?.number == 2)
            #expect(try db.hostnames(of: "shop") == ["shop.localhost", "www.example.com"])
            #expect(try db.formation(of: "shop") == (2, 3))

            try finish(HostnamesJob.kind, job, .succeeded, db)
            #expect(try db.releases(of: "shop").count == 2, "recorded once per job")
        }
    }

    @Test func aFailedJobRecordsAFailedReleaseAndChangesNothingLive() throws {
        try withTemporaryZoomDB { db throws in
            try shop(db)
            let job = JobRecord(id: "J2", kind: "hostnames", project: "shop",
                                params: ["add": .string("www.example.com")], issuedBy: nil, issuedAt: .now())
            try finish(HostnamesJob.kind, job, .failed, db)
            let release = try #require(try db.release(of: "shop", number: 2))
            #expect(release.result == "failed" && release.hostnames == ["shop.localhost", "www.example.com"])
            #expect(try db.currentRelease(of: "shop")?.number == 1)
            #expect(try db.hostnames(of: "shop").isEmpty)
            #expect(try db.formation(of: "shop") == (nil, nil))

            try finish(HostnamesJob.kind, JobRecord(id: "J3", kind: "hostnames", project: "shop",
                                                    params: ["add": .string("x.example.com")], issuedBy: nil,
                                                    issuedAt: .now()), .cancelled, db)
            #expect(try db.release(of: "shop", number: 3)?.result == "cancelled")
            #expect(try db.hostnames(of: "shop").isEmpty)
        }
    }

    @Test func aConfigJobRecordsTheVersionItPutLiveAndWhatChanged() throws {
        try withTemporaryZoomDB { db throws in
            try shop(db)
            try db.setFormation(of: "shop", instances: nil, workers: 4)
            let job = JobRecord(id: "J2", kind: "config", project: "shop",
                                params: ["change": .string("set GREETING"), "instances": .string("3")],
                                issuedBy: nil, issuedAt: .now())
            try finish(ConfigJob.kind, job, .succeeded, db)
            let release = try #require(try db.currentRelease(of: "shop"))
            #expect(release.number == 2 && release.kind == "config")
            #expect(release.description == "config version 1: set GREETING")
            #expect(release.configVersion == 1)
            #expect(release.instances == 3 && release.workers == 4, "the parameter, then the formation")
            #expect(try db.formation(of: "shop") == (3, 4))
            #expect(try db.hostnames(of: "shop") == ["shop.localhost"], "the release's names, now recorded")
        }
    }

    @Test func aRollbackIsDescribedByItsTarget() throws {
        try withTemporaryZoomDB { db throws in
            try shop(db)
            try db.recordRelease(ReleaseRecord(project: "shop", kind: "build_and_deploy", bundle: "bundle_shop_2",
                                               wsgi: "shop.wsgi", hostnames: ["shop.localhost"], configVersion: 1,
                                               result: "succeeded", job: "J2"))
            try finish(RollbackJob.kind, JobRecord(id: "J3", kind: "rollback", project: "shop", params: [:],
                                                   issuedBy: nil, issuedAt: .now()), .succeeded, db)
            let release = try #require(try db.currentRelease(of: "shop"))
            #expect(release.number == 3 && release.kind == "rollback" && release.bundle == "bundle_shop_1")
            #expect(release.description == "rollback to release 1")
        }
    }

    @Test func aJobThatNeverKnewItsBundleRecordsNoRelease() throws {
        try withTemporaryZoomDB { db throws in
            let job = JobRecord(id: "J1", kind: "config", project: "shop", params: [:], issuedBy: nil,
                                issuedAt: .now())
            try finish(ConfigJob.kind, job, .failed, db)
            #expect(try db.releases(of: "shop").isEmpty)
        }
    }
}
