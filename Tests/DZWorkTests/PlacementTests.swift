import DZAgent
import DZBuild
import DZDeploy
import DZSpool
import DZSystem
import DZWork
import Foundation
import Logging
import Testing

/// Placement from heartbeats: who is an appserver, who is healthy, who is least loaded.
@Suite struct PlacementTests {
    let now = Timestamp.now()

    func heartbeat(_ host: String, queues: [String], age: Double = 1, load: Double = 0.1, memory: UInt64 = 1 << 30)
        throws -> Heartbeat
    {
        var beat = Heartbeat(host: try HostID(host), pid: 1, version: "t", queues: try queues.map { try QueueName($0) },
                             running: [], concurrency: 4, started: Timestamp(nanoseconds: now.nanoseconds - 100_000_000_000),
                             updated: Timestamp(nanoseconds: now.nanoseconds - Int64(age * 1e9)))
        beat.loadAverage = [load, load, load]
        beat.memoryAvailable = memory
        return beat
    }

    @Test func onlyFreshAppserversAreChosenLeastLoadedFirst() throws {
        let beats = [
            try heartbeat("builder", queues: ["build", "database"]),
            try heartbeat("a", queues: ["appserver_a"], load: 3),
            try heartbeat("b", queues: ["appserver_b"], load: 0.2),
            try heartbeat("c", queues: ["appserver_c"], age: 120),
            try heartbeat("d", queues: ["appserver_d"], load: 0.2, memory: 1 << 33),
        ]
        let ranked = Placement(maxAge: 30).rank(beats, now: now)
        #expect(ranked.healthy.map(\.id) == ["d", "b", "a"], "equal load: more free memory first")
        #expect(ranked.unhealthy.map(\.id) == ["c"])
        let fewer = Placement(maxAge: 30, instances: ["d": 2, "b": 1]).rank(beats, now: now)
        #expect(fewer.healthy.map(\.id) == ["a", "b", "d"], "running instances count first")
    }

    @Test func moreInstancesThanAppserversGoRoundAgain() throws {
        let beats = [try heartbeat("a", queues: ["appserver_a"]), try heartbeat("b", queues: ["appserver_b"], load: 1)]
        #expect(try Placement().choose(3, from: beats, now: now).map(\.id) == ["a", "b", "a"])
        #expect(try Placement(excluded: ["a"]).choose(2, from: beats, now: now).map(\.id) == ["b", "b"])
    }

    @Test func noHealthyAppserverSaysWhy() throws {
        let beats = [try heartbeat("a", queues: ["appserver_a"], age: 90)]
        #expect(throws: PlacementError.self) { try Placement(maxAge: 30).choose(1, from: beats, now: now) }
        do {
            _ = try Placement(maxAge: 30).choose(1, from: beats, now: now)
        } catch {
            #expect(error.description.contains("a: heartbeat 90 s old"))
        }
        #expect(throws: PlacementError.self) { try Placement().choose(1, from: [], now: now) }
    }

    @Test func theNewestHeartbeatOfAnAppserverCounts() throws {
        let beats = [try heartbeat("a", queues: ["appserver_a"], age: 100), try heartbeat("a2", queues: ["appserver_a"], age: 2)]
        let ranked = Placement(maxAge: 30).rank(beats, now: now)
        #expect(ranked.healthy.map(\.host) == ["a2"])
    }
}

/// SQLite apps: placed only where their database file is, and refused before the build when no appserver is there.
@Suite struct SQLitePlacementTests {
    let now = Timestamp.now()

    func heartbeat(_ host: String, queues: [String], facts: [String: String] = [:], age: Double = 1) throws -> Heartbeat {
        var beat = Heartbeat(host: try HostID(host), pid: 1, version: "t", queues: try queues.map { try QueueName($0) },
                             running: [], concurrency: 4, started: now + -100, updated: now + -age)
        beat.facts = facts
        return beat
    }

    /// A database host keeping SQLite files in /srv/db/apps with an appserver beside it that shares them, and
    /// another appserver elsewhere.
    func cluster(appserverRoot: String = "/srv/db/apps") throws -> [Heartbeat] {
        [
            try heartbeat("dbhost", queues: ["build", "database"],
                          facts: [PlacementFacts.databaseEngine: "sqlite", PlacementFacts.sqliteRoot: "/srv/db/apps"]),
            try heartbeat("dbhost", queues: ["appserver_near"], facts: [PlacementFacts.appsRoot: appserverRoot]),
            try heartbeat("elsewhere", queues: ["appserver_far"], facts: [PlacementFacts.appsRoot: "/srv/db/apps"]),
        ]
    }

    @Test func theHomeOfADatabaseFileIsItsAppsRoot() {
        #expect(SQLiteHome(databaseFile: "/srv/db/apps/shop/db.sqlite3", host: "h") == SQLiteHome(host: "h", appsRoot: "/srv/db/apps"))
        for bad in ["relative/apps/shop/db.sqlite3", "/srv/db/apps/shop/other.db", "/srv/../apps/shop/db.sqlite3",
                    "/srv//apps/shop/db.sqlite3", "/shop/db.sqlite3", "/db.sqlite3", ""] {
            #expect(SQLiteHome(databaseFile: bad, host: nil) == nil, "\(bad)")
        }
    }

    @Test func anSQLiteAppGoesOnlyToAnAppserverOfItsDatabasesHostThatHoldsTheFile() throws {
        let home = SQLiteHome(host: "dbhost", appsRoot: "/srv/db/apps")
        let placement = Placement(sqlite: home)
        #expect(try placement.choose(2, from: try cluster(), now: now).map(\.id) == ["near", "near"])
        let ranked = placement.rank(try cluster(), now: now)
        #expect(ranked.unhealthy.map(\.id) == ["far"])
        #expect(ranked.unhealthy.first?.reason == "not on the SQLite database's host dbhost")

        // Its own apps root elsewhere: no appserver reaches the file, and the error says what to do.
        let apart = try cluster(appserverRoot: "/srv/app/apps")
        do {
            _ = try placement.choose(1, from: apart, now: now)
            Issue.record("placed an SQLite app where its database is not")
        } catch {
            #expect(error.description.contains("near: its apps root /srv/app/apps does not hold the SQLite database"))
            #expect(error.description.contains("--db-engine postgresql"))
            #expect(error.description.contains("database_type = postgresql"))
            #expect(error.description.contains("--apps-root /srv/db/apps"))
        }
        // Without a known host, the apps root alone decides; an appserver that publishes none is left out.
        let unknownHost = Placement(sqlite: SQLiteHome(host: nil, appsRoot: "/srv/db/apps"))
        var beats = try cluster()
        beats.append(try heartbeat("old", queues: ["appserver_old"]))
        #expect(Set(unknownHost.rank(beats, now: now).healthy.map(\.id)) == ["near", "far"])
    }

    @Test func aJobWhoseDatabaseWouldBeSQLiteWithNoAppserverThereIsRefusedBeforeTheBuild() throws {
        let far = try cluster(appserverRoot: "/srv/app/apps")
        // The database host's default is SQLite: the check looks where the file would go.
        let refused = PlacementCheck(project: "shop", engine: nil, recorded: nil).check(far, now: now)
        let problem = try #require(refused.problem)
        #expect(problem.contains("project shop cannot be placed"))
        #expect(problem.contains("/srv/db/apps on host dbhost"))
        #expect(problem.contains("dz deploy --db-engine postgresql"))
        #expect(problem.contains("database_type = postgresql in zoombuild.cfg"))
        // So is an explicit SQLite.
        #expect(PlacementCheck(project: "shop", engine: .sqlite, recorded: nil).check(far, now: now).problem != nil)
        // PostgreSQL goes anywhere.
        #expect(PlacementCheck(project: "shop", engine: .postgresql, recorded: nil).check(far, now: now).problem == nil)
        // With an appserver beside the file, it goes on.
        let near = PlacementCheck(project: "shop", engine: nil, recorded: nil).check(try cluster(), now: now)
        #expect(near.problem == nil)
        #expect(near.homes.map(\.appservers) == [["near"]])
        // A database host whose default is PostgreSQL needs nothing.
        var postgres = far
        postgres[0].facts[PlacementFacts.databaseEngine] = "postgresql"
        #expect(PlacementCheck(project: "shop", engine: nil, recorded: nil).check(postgres, now: now).problem == nil)
        // A recorded database is judged where it is, whatever the database hosts say now.
        let recorded = SQLiteHome(host: "elsewhere", appsRoot: "/srv/db/apps")
        #expect(PlacementCheck(project: "shop", engine: .sqlite, recorded: recorded).check(postgres, now: now).problem == nil)
        let gone = SQLiteHome(host: "gone", appsRoot: "/srv/db/apps")
        let stuck = try #require(PlacementCheck(project: "shop", engine: .sqlite, recorded: gone).check(far, now: now).problem)
        #expect(stuck.contains("its data does not move"))
    }

    @Test func theHandlersRefuseWithKindSqlitePlacementAndNoRetryAndNameTheFix() async throws {
        var template = Array("/tmp/dz-placement-XXXXXX".utf8CString)
        let root = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        defer { try? FileManager.default.removeItem(atPath: root) }
        let spool = Spool(root: root, host: try HostID("tester"), sync: false)
        try spool.initialize()
        defer { for beat in spool.heartbeats() { spool.removeHeartbeat(host: beat.host, pid: beat.pid) } }
        for (index, var beat) in try cluster(appserverRoot: "/srv/app/apps").enumerated() {
            beat.pid = Int32(100 + index)
            beat.updated = .now()
            try spool.write(beat)
        }
        func context(_ task: String, _ args: [String: JSONValue]) throws -> TaskContext {
            TaskContext(task: TaskFile(id: try TaskID("t-\(task)"), task: task, args: args), queue: try QueueName("build"),
                        host: try HostID("builder"), logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        }
        do {
            _ = try await CheckPlacementHandler(spool: spool).run(try context("check_placement", [
                "project": .string("shop"), "zoombuild_cfg": .string("[project]\ndatabase_type = sqlite\n"),
            ]))
            Issue.record("check_placement let an unplaceable SQLite app through")
        } catch let failure as TaskFailure {
            #expect(failure.kind == "sqlite-placement" && !failure.retryable)
            #expect(failure.message.contains("--db-engine postgresql"), "\(failure.message)")
        }
        let fine = try await CheckPlacementHandler(spool: spool).run(try context("check_placement", [
            "project": .string("shop"), "zoombuild_cfg": .string("[project]\ndatabase_type = postgresql\n"),
        ]))
        #expect(fine["engine"] == .string("postgresql"))

        let database: JSONValue = .object(["engine": .string("sqlite"), "name": .string("/srv/db/apps/shop/db.sqlite3"),
                                           "host": .string("dbhost")])
        do {
            _ = try await PlacementHandler(spool: spool).run(try context("placement", ["count": .int(1), "database": database]))
            Issue.record("placement put an SQLite app where its file is not")
        } catch let failure as TaskFailure {
            #expect(failure.kind == "sqlite-placement" && !failure.retryable, "\(failure)")
        }
        // PostgreSQL: any appserver.
        let placed = try await PlacementHandler(spool: spool).run(try context("placement", [
            "count": .int(1), "database": .object(["engine": .string("postgresql"), "name": .string("shop")]),
        ]))
        #expect(placed["appservers"]?.arrayValue?.count == 1)
    }

    @Test func anAgentsFactsNameItsAppsRootAndItsSQLiteDirectoryCanonically() throws {
        var template = Array("/tmp/dz-facts-XXXXXX".utf8CString)
        let root = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileSystem.makeDirectories(root + "/real/apps")
        try FileSystem.symlink(target: root + "/real", at: root + "/link")
        let workspace = Workspace(root: root + "/link")
        let facts = PlacementFacts.of(appServer: AppServerSettings(workspace: workspace),
                                      database: DatabaseSettings(), workspace: workspace)
        let real = try FileSystem.resolve(root) + "/real/apps"
        #expect(facts == [PlacementFacts.appsRoot: real, PlacementFacts.sqliteRoot: real,
                          PlacementFacts.databaseEngine: "sqlite", PlacementFacts.databaseEngines: "sqlite"])
        // A directory not made yet: its existing parent is resolved.
        let fresh = PlacementFacts.of(appServer: nil, database: nil, workspace: workspace)
        #expect(fresh.isEmpty)
        let later = PlacementFacts.of(appServer: AppServerSettings(workspace: Workspace(root: root + "/link/sub")),
                                      database: nil, workspace: workspace)
        #expect(later[PlacementFacts.appsRoot] == (try FileSystem.resolve(root)) + "/real/sub/apps")
    }
}
