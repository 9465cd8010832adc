import DZSpool
import DZStore
import DZSystem
import Foundation
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension Integration {
    /// Commands from another host: a second bindfs view of the spool (blind to the first's inotify, as an NFS client
    /// is), another host id, and no zoomdb (DZ_DB names a file that does not exist). They follow jobs, releases
    /// and the environment through what the coordinator publishes, and write only requests.
    @Suite(.serialized) struct MultiHostClientTests {
        /// A coordinator and the selftest agents on the spool's own path; `elsewhere`, another host's view of it.
        final class TwoHosts {
            let spool: TestSpool
            let views: RescanTests.BindfsViews
            let elsewhere: String

            init(seed: (ZoomDB) throws -> Void = { _ in }) async throws {
                spool = try TestSpool()
                elsewhere = spool.directory + "/elsewhere"
                views = try await RescanTests.BindfsViews(spool.root, at: [elsewhere], logDirectory: spool.logDirectory)
                do {
                    for queue in ["appserver_app1", "appserver_app2"] {
                        try Spool(root: spool.root, host: HostID("tester"), sync: false).create(QueueName(queue))
                    }
                    do { try seed(try ZoomDB(path: spool.zoomdbPath)) }
                    _ = try await JobTests.Cluster.startCoordinator(spool)
                    _ = try await spool.startAgent(host: "worker", queues: "build,database,proxy,appserver_app1,appserver_app2",
                                                   ["--rescan", "200ms", "--no-fsync"])
                } catch {
                    cleanUp()
                    throw error
                }
            }

            /// `dz <args>` on the other host: through its view, with its own host id and no zoomdb.
            func dz(_ args: [String], timeout: Double = 120) async throws -> CommandResult {
                try await spool.dz(args + ["--host-id", "elsewhere"], via: elsewhere, timeout: timeout,
                                   environment: ["DZ_DB": spool.directory + "/no-zoomdb-here.sqlite3"])
            }

            func cleanUp() {
                spool.killAll()
                views.unmount()
                spool.cleanUp()
            }

            /// Every file under the spool, as text (through its own path).
            func spoolText() -> String {
                var text = ""
                let files = FileManager.default.enumerator(atPath: spool.root)
                while let relative = files?.nextObject() as? String {
                    if let data = FileManager.default.contents(atPath: spool.root + "/" + relative) {
                        text += String(decoding: data, as: UTF8.self)
                    }
                }
                return text
            }
        }

        @Test(.timeLimit(.minutes(5)))
        func aJobIsSubmittedAndFollowedFromAnotherHostWithoutItsZoomdb() async throws {
            let hosts = try await TwoHosts()
            defer { hosts.cleanUp() }
            let submitted = try await hosts.dz(["job", "submit", "selftest", "--project", "demo", "--param",
                                                "appservers=app1,app2", "--wait"])
            #expect(submitted.status == 0, "\(submitted)")
            let id = try #require(submitted.stdout.split(separator: "\n").first.map(String.init))
            #expect(submitted.stdout.contains(" proxy_update succeeded on worker"), "progress: \(submitted.stdout)")
            #expect(submitted.stdout.contains("job \(id) succeeded in "), "\(submitted.stdout)")

            let waited = try await hosts.dz(["job", "wait", id])
            #expect(waited.status == 0 && waited.stdout.contains("job \(id) succeeded"), "\(waited)")
            let shown = try await hosts.dz(["job", "show", id, "--json"])
            let job = try #require(try JSONValue.parse(Array(shown.stdout.utf8)).objectValue, "\(shown)")
            #expect(job["state"] == .string("succeeded") && job["issued_by"]?.stringValue?.hasSuffix("@elsewhere") == true)
            #expect((job["steps"]?.arrayValue?.count ?? 0) >= 10 && job["timing"] != nil, "\(shown.stdout)")
            let listed = try await hosts.dz(["job", "list"])
            #expect(listed.status == 0 && listed.stdout.contains(id), "\(listed)")
            let log = try await hosts.dz(["job", "log", id])
            #expect(log.stdout.contains("job selftest submitted for project demo by "), "\(log)")

            let unknown = try await hosts.dz(["job", "show", "J20000101T000000.000000Z-00000000"])
            #expect(unknown.status == 1 && unknown.stderr.contains("no job"), "\(unknown)")
        }

        /// `dz status` and `dz job list` on another host's view run again and again beside a working
        /// coordinator: neither opens the zoomdb (strace says which files they open), its -wal and -shm stay, and
        /// the coordinator goes on taking jobs.
        @Test(.timeLimit(.minutes(5)))
        func statusOnAnotherHostNeverTouchesTheZoomdb() async throws {
            let hosts = try await TwoHosts()
            defer { hosts.cleanUp() }
            let strace = try #require(executableInPath("strace"), "strace is not installed (CI installs it)")
            let first = try await hosts.dz(["job", "submit", "selftest", "--project", "demo", "--wait"])
            #expect(first.status == 0, "\(first)")
            let db = hosts.spool.zoomdbPath
            #expect(FileSystem.exists(db + "-wal") && FileSystem.exists(db + "-shm"))
            for round in 0..<3 {
                let trace = hosts.spool.directory + "/trace-\(round)"
                let traced = try await hosts.spool.tool(strace, [
                    "-f", "-e", "trace=%file", "-o", trace, try DZBinary.path(), "status", "--spool", hosts.elsewhere,
                    "--host-id", "elsewhere",
                ])
                #expect(traced.status == 0, "\(traced)")
                #expect(traced.stdout.contains("coordinator: tester pid ") || traced.stdout.contains("coordinator: "),
                        "\(traced.stdout)")
                let calls = (try? String(contentsOfFile: trace, encoding: .utf8)) ?? ""
                #expect(calls.contains("/state/summary.json"), "it read the published summary")
                #expect(!calls.contains("zoomdb.sqlite3"), "dz status opened the zoomdb:\n\(calls)")
                let listed = try await hosts.dz(["job", "list", "--json"])
                #expect(listed.status == 0, "\(listed)")
            }
            #expect(FileSystem.exists(db + "-wal") && FileSystem.exists(db + "-shm"), "the coordinator's log is intact")
            let second = try await hosts.dz(["job", "submit", "selftest", "--project", "demo", "--wait"])
            #expect(second.status == 0, "the coordinator keeps working: \(second)")
            let status = try await hosts.dz(["status"])
            let counted = await eventually(timeout: 10) {
                (try? await hosts.dz(["status"]))?.stdout.contains("jobs: 0 running, 2 succeeded") == true
            }
            #expect(counted, "\(status)")
        }

        @Test(.timeLimit(.minutes(5)))
        func releasesAndTheEnvironmentAreReadAndChangedFromAnotherHost() async throws {
            let hosts = try await TwoHosts { db in
                try db.recordRelease(ReleaseRecord(project: "hello", kind: "build_and_deploy", bundle: "bundle_hello_1",
                                                   wsgi: "hello.wsgi", hostnames: ["hello.test"], configVersion: 0,
                                                   result: "succeeded", job: "J1", issuedBy: "alice@laptop"))
            }
            defer { hosts.cleanUp() }
            let releases = try await hosts.dz(["releases", "--project", "hello"])
            #expect(releases.status == 0, "\(releases)")
            #expect(releases.stdout.split(separator: "\n").contains { $0.hasPrefix("*") && $0.contains("v1") }, "\(releases)")

            let secret = "s3cr3t-" + UUID().uuidString
            let set = try await hosts.dz(["config", "set", "--project", "hello", "GREETING=howdy", "API_TOKEN=" + secret,
                                          "--no-restart"])
            #expect(set.status == 0, "\(set)")
            #expect(set.stdout.contains("config version 1: set API_TOKEN, GREETING"), "\(set)")
            // Away from the zoomdb, the names only: no config value is published. (Both views are on one machine,
            // where a command finds the coordinator's zoomdb through its lease: --db names one not there.)
            let shown = try await hosts.dz(["config", "show", "--project", "hello",
                                            "--db", hosts.spool.directory + "/no-zoomdb-here.sqlite3"])
            #expect(shown.stdout == "# config version 1, live: version 0\nAPI_TOKEN=***\nGREETING=***\n", "\(shown)")
            #expect(shown.stderr.contains("values are shown only where the zoomdb is"), "\(shown)")
            let local = try await hosts.spool.dz(["config", "show", "--project", "hello"])
            #expect(local.stdout == "# config version 1, live: version 0\nAPI_TOKEN=***\nGREETING=howdy\n",
                    "where the zoomdb is, its values: \(local)")
            // Recorded where it belongs, and nowhere in the spool: not the request (rewritten before done/), not a
            // published document, not the audit log.
            let db = try ZoomDB(readOnlyAt: hosts.spool.zoomdbPath)
            #expect(try db.environment(of: "hello")["API_TOKEN"] == secret)
            #expect(!hosts.spoolText().contains(secret), "the secret stayed in a spool file")
            #expect(!hosts.spoolText().contains("howdy"), "a value not named like a secret stayed in a spool file")
            #expect(!hosts.spool.auditRecords().contains { $0.line.contains(secret) })

            let unset = try await hosts.dz(["config", "unset", "--project", "hello", "GREETING", "--no-restart"])
            #expect(unset.status == 0 && unset.stdout.contains("config version 2: unset GREETING"), "\(unset)")
            let again = try await hosts.dz(["config", "unset", "--project", "hello", "GREETING", "--no-restart"])
            #expect(again.status == 0 && again.stdout.contains("nothing changed (config version 2)"), "\(again)")
            let refused = try await hosts.dz(["config", "set", "--project", "hello", "LD_PRELOAD=/x.so", "--no-restart"])
            #expect(refused.status == 64, "\(refused)")
        }

        @Test(.timeLimit(.minutes(3)))
        func aZoomdbOnAFuseFileSystemIsRefused() async throws {
            let spool = try TestSpool()
            let view = spool.directory + "/fuse"
            let backing = spool.directory + "/backing"
            try FileManager.default.createDirectory(atPath: backing, withIntermediateDirectories: true)
            let views = try await RescanTests.BindfsViews(backing, at: [view], logDirectory: spool.logDirectory)
            defer {
                spool.killAll()
                views.unmount()
                spool.cleanUp()
            }
            let refused = try await spool.dz(["coordinator", "--no-fsync", "--db", view + "/zoomdb.sqlite3"])
            #expect(refused.status == 64, "\(refused)")
            #expect(refused.stderr.contains("is on a fuse file system"), "\(refused.stderr)")
            #expect(!FileSystem.exists(backing + "/zoomdb.sqlite3"), "nothing made there")

            let forced = try spool.start(["coordinator", "--no-fsync", "--rescan", "200ms", "--db", view + "/zoomdb.sqlite3",
                                          "--allow-network-db"], label: "forced")
            let started = await waitUntil(timeout: 60) {
                !forced.isRunning || spool.records(event: "coordinator-started").contains { $0["pid"] == String(forced.pid) }
            }
            #expect(started && forced.isRunning, "\(forced.errorTail)")
            forced.send(SIGTERM)
            #expect(await forced.waitForExit(timeout: 30))
        }

        /// A spool of an earlier dz, its zoomdb inside it: the first coordinator with the default location moves
        /// it to its own disk, sets the old directory aside, and publishes its jobs for every host.
        @Test(.timeLimit(.minutes(3)))
        func aZoomdbKeptInTheSpoolIsMovedToTheCoordinatorsDiskAtItsFirstStart() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let legacy = spool.root + "/zoomdb/zoomdb.sqlite3"
            do {
                let old = try ZoomDB(path: legacy)
                var job = JobRecord(id: "J20250101T000000.000000Z-0000aaaa", kind: "selftest", project: "old",
                                    params: [:], issuedBy: "bob", issuedAt: .now())
                try old.insert(job)
                job.state = .succeeded
                job.finished = .now()
                try old.update(job)
            }
            let state = spool.directory + "/state"
            let environment = ["DZ_DB": "", "STATE_DIRECTORY": state]
            let coordinator = try spool.start(["coordinator", "--no-fsync", "--rescan", "200ms"], label: "coordinator",
                                              environment: environment)
            let started = await waitUntil(timeout: 60) {
                !coordinator.isRunning
                    || spool.records(event: "coordinator-started").contains { $0["pid"] == String(coordinator.pid) }
            }
            try #require(started && coordinator.isRunning, "\(coordinator.errorTail)")
            let id = try #require(Spool(root: spool.root, sync: false).existingIdentity())
            #expect(FileSystem.exists(state + "/zoomdb/" + id + ".sqlite3"))
            #expect(!FileSystem.exists(spool.root + "/zoomdb"), "nothing left where commands used to open it")
            #expect(FileSystem.exists(spool.root + "/zoomdb.moved/zoomdb.sqlite3"), "the old copy set aside")
            #expect(spool.records(event: "zoomdb-moved").count == 1)
            let shown = await eventually(timeout: 10) {
                (try? await spool.dz(["job", "show", "J20250101T000000.000000Z-0000aaaa"]))?.status == 0
            }
            #expect(shown, "the old job is published for every host")
        }
    }
}
