import DZSpool
import DZStore
import DZSystem
import Foundation
import Testing

@Suite struct ZoomDBTests {
    func temporaryPath() -> String {
        var template = Array("/tmp/dz-db-XXXXXX".utf8CString)
        let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        return dir + "/zoomdb/zoomdb.sqlite3"
    }

    func cleanup(_ path: String) {
        try? FileManager.default.removeItem(atPath: String(path.dropLast("/zoomdb/zoomdb.sqlite3".count)))
    }

    @Test func createsTheSchemaPrivatelyAndMigratesOnce() throws {
        let path = temporaryPath()
        defer { cleanup(path) }
        let db = try ZoomDB(path: path)
        #expect(db.schemaVersion == ZoomDB.latestSchemaVersion)
        #expect(try FileSystem.status(path).isRegular)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let again = try ZoomDB(path: path)
        #expect(again.schemaVersion == ZoomDB.latestSchemaVersion)
        let tables = try db.database.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .compactMap { $0.string("name") }
        for table in ["app_databases", "appservers", "bundles", "config_guesses", "deployments", "job_log", "jobs",
                      "projects", "steps", "virtual_hostnames", "releases", "app_environment", "app_users"] {
            #expect(tables.contains(table), "missing table \(table)")
        }
    }

    @Test func jobsStepsAndLogRoundTrip() throws {
        let path = temporaryPath()
        defer { cleanup(path) }
        let db = try ZoomDB(path: path)
        var job = JobRecord(id: "J1", kind: "selftest", project: "demo", params: ["a": .string("b")], issuedBy: "me",
                            issuedAt: Timestamp(nanoseconds: 1_000_000_000_000))
        #expect(try db.insert(job))
        #expect(try !db.insert(job), "a submission seen twice is inserted once")
        job.state = .failed
        job.stopping = .failing
        job.error = "boom"
        job.result = ["x": .int(1)]
        try db.update(job)
        #expect(try db.job("J1") == job)

        var step = StepRecord(job: "J1", name: "deploy.0", definition: "deploy", ordinal: 5000, queue: "appserver_a",
                              task: "echo", taskID: "J1.deploy.0", taskFile: "{}", compensation: false, maxAttempts: 3,
                              deadline: Timestamp(nanoseconds: 2_000_000_000_000))
        try db.insert(step)
        step.state = .succeeded
        step.output = ["appserver": .string("a")]
        step.attempt = 2
        step.host = "h1"
        try db.update(step)
        #expect(try db.step(taskID: "J1.deploy.0") == step)
        #expect(try db.steps(of: "J1") == [step])
        #expect(try db.steps(in: [.succeeded]).count == 1)
        #expect(try db.steps(in: [.dispatching]).isEmpty)

        try db.log("J1", .stepBegin, "deploy.0 on appserver_a")
        try db.log("J1", .error, "it broke")
        let lines = try db.logLines(of: "J1")
        #expect(lines.map(\.level) == [.stepBegin, .error])
        #expect(try db.logLines(of: "J1", after: lines[0].id).map(\.message) == ["it broke"])
        #expect(try db.jobs(state: .failed).map(\.id) == ["J1"])
        #expect(try db.jobs(state: .running).isEmpty)
    }

    @Test func transactionRollsBackOnError() throws {
        let path = temporaryPath()
        defer { cleanup(path) }
        let db = try ZoomDB(path: path)
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try db.transaction {
                try db.insert(JobRecord(id: "J2", kind: "k", project: nil, params: [:], issuedBy: nil, issuedAt: .now()))
                throw Boom()
            }
        }
        #expect(try db.job("J2") == nil)
    }

    @Test func sqlErrorsAreTyped() throws {
        let path = temporaryPath()
        defer { cleanup(path) }
        let db = try ZoomDB(path: path)
        #expect(throws: SQLiteError.self) { try db.database.query("SELECT * FROM nowhere") }
        let values = try db.database.query("SELECT ? AS t, ? AS i, ? AS r, ? AS n", ["x", 7, 2.5, Optional<String>.none])
        #expect(values.first?.string("t") == "x")
        #expect(values.first?.int("i") == 7)
        #expect(values.first?.double("r") == 2.5)
        #expect(values.first?["n"] == .null)
    }

    @Test func deploymentsAreRecordedOnceAndDeactivated() throws {
        let path = temporaryPath()
        defer { cleanup(path) }
        let db = try ZoomDB(path: path)
        let first = DeploymentRecord(project: "shop", bundle: "bundle_shop_1", appserver: "app1",
                                     instance: "bundle_shop_1.app1.10001", host: "127.0.0.1", port: 10001,
                                     user: "dz_shop", job: "J1")
        try db.recordDeployment(first)
        try db.recordDeployment(first)
        try db.recordDeployment(DeploymentRecord(project: "shop", bundle: "bundle_shop_1", appserver: "app2",
                                                 instance: "bundle_shop_1.app2.10001", host: "127.0.0.1", port: 10001,
                                                 job: "J1"))
        try db.recordDeployment(DeploymentRecord(project: "blog", bundle: "bundle_blog_1", appserver: "app1",
                                                 instance: "bundle_blog_1.app1.10002", host: "127.0.0.1", port: 10002))
        #expect(try db.activeDeployments(of: "shop").map(\.instance)
                == ["bundle_shop_1.app1.10001", "bundle_shop_1.app2.10001"])
        #expect(try db.activeInstanceCounts() == ["app1": 2, "app2": 1])
        try db.deactivateDeployments(["bundle_shop_1.app1.10001", "no-such-instance"])
        #expect(try db.activeDeployments(of: "shop").map(\.instance) == ["bundle_shop_1.app2.10001"])
        #expect(try db.deployments(of: "shop").count == 2)
        #expect(try db.deployments(of: "shop").first?.deactivated != nil)
        #expect(try db.activeDeployments(of: "shop").first?.jsonObject["port"] == .int(10001))
    }

    @Test func bundlesAreFoundByNameWithTheirProjectAndMarkedDeleted() throws {
        let path = temporaryPath()
        defer { cleanup(path) }
        let db = try ZoomDB(path: path)
        let early = Timestamp(nanoseconds: 1_000_000_000)
        try db.recordBundle(project: "shop", name: "bundle_shop_2", codeRevision: "bbb", sha256: "22", size: 2048,
                            storageURL: "file:///s/shop/bundle_shop_2.tar.zst")
        try db.recordBundle(project: "shop", name: "bundle_shop_1", codeRevision: "aaa", sha256: "11", size: 1024,
                            storageURL: nil, at: early)
        try db.recordBundle(project: "blog", name: "bundle_blog_1", codeRevision: nil, sha256: nil, size: nil,
                            storageURL: nil)
        #expect(try db.bundles(of: "shop").map(\.name) == ["bundle_shop_1", "bundle_shop_2"], "oldest first")
        let found = try #require(try db.bundle(named: "bundle_blog_1"))
        #expect(found.project == "blog" && found.size == nil && found.deleted == nil)
        #expect(try db.bundle(named: "bundle_shop_1")?.created == early)
        #expect(try db.bundle(named: "bundle_shop_1")?.codeRevision == "aaa")
        #expect(try db.bundle(named: "bundle_shop_9") == nil)
        try db.markBundlesDeleted(["bundle_shop_1"])
        #expect(try db.bundle(named: "bundle_shop_1")?.deleted != nil)
        #expect(try db.bundles(of: "shop").map { $0.deleted == nil } == [false, true], "kept, marked deleted")
    }

    @Test func secretKeyIsMadeOnceAndKept() throws {
        let path = temporaryPath()
        defer { cleanup(path) }
        let db = try ZoomDB(path: path)
        let key = try db.secretKey(of: "shop")
        #expect(key.count == 50)
        #expect(try db.secretKey(of: "shop") == key)
        #expect(try ZoomDB(path: path).secretKey(of: "shop") == key)
        #expect(try db.secretKey(of: "blog") != key)
    }

    @Test func processesOpeningANewZoomDBTogetherMigrateItOnce() async throws {
        for _ in 0..<10 {
            let path = temporaryPath()
            defer { cleanup(path) }
            try FileSystem.makeDirectories(String(path.dropLast("/zoomdb.sqlite3".count)), mode: 0o700)
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<4 { group.addTask { try ZoomDB(path: path).schemaVersion } }
                for try await version in group { #expect(version == ZoomDB.latestSchemaVersion) }
            }
        }
    }
}
