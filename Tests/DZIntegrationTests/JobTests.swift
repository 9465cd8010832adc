import DZSpool
import Foundation
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension Integration {
    /// Whole `selftest` jobs through a real coordinator and real agents for every role on one spool.
    @Suite(.serialized) struct JobTests {
        /// A spool with a coordinator and two agents serving every queue the selftest job uses.
        struct Cluster {
            let spool: TestSpool
            var coordinator: DZProcess
            var agents: [DZProcess]

            init(lease: String = "3s") async throws {
                spool = try TestSpool()
                for queue in ["appserver_app1", "appserver_app2"] {
                    try Spool(root: spool.root, host: HostID("tester"), sync: false).create(QueueName(queue))
                }
                coordinator = try await Cluster.startCoordinator(spool)
                agents = []
                // One agent per role, as on a real cluster: build and database hosts, the proxy, two appservers.
                for (host, queues) in [("builder", "build,database"), ("frontend", "proxy"),
                                       ("app1", "appserver_app1"), ("app2", "appserver_app2")] {
                    agents.append(try await spool.startAgent(host: host, queues: queues,
                                                             ["--lease", lease, "--rescan", "500ms", "--no-fsync", "--allow-local-sources",
                                                              "--bundle-store", "file://" + spool.directory + "/store",
                                                              "--data-dir", spool.directory + "/var-" + host]))
                }
            }

            static func startCoordinator(_ spool: TestSpool) async throws -> DZProcess {
                let process = try spool.start(["coordinator", "--rescan", "200ms", "--no-fsync"], label: "coordinator")
                let started = await waitUntil(timeout: 60) {
                    !process.isRunning
                        || spool.records(event: "coordinator-started").contains { $0["pid"] == String(process.pid) }
                }
                guard started, process.isRunning else { throw SetupFailure("coordinator did not start: \(process.errorTail)") }
                return process
            }

            /// `dz job <sub> --spool <root> <rest...>`.
            func job(_ sub: String, _ rest: [String], timeout: Double = 120) async throws -> CommandResult {
                try await spool.dz(["job", sub] + rest, timeout: timeout)
            }

            func submit(_ params: [String]) async throws -> String {
                let result = try await job("submit", ["selftest", "--project", "demo"] + params.flatMap { ["--param", $0] })
                guard result.status == 0 else { throw SetupFailure("submit failed: \(result)") }
                return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            }

            /// `dz job show --json`, parsed; nil while the coordinator has not taken the job.
            func show(_ id: String) async throws -> [String: JSONValue]? {
                let result = try await job("show", [id, "--json"])
                guard result.status == 0 else { return nil }
                return try JSONValue.parse(Array(result.stdout.utf8)).objectValue
            }

            func waitForEnd(_ id: String, timeout: Double = 120) async throws -> [String: JSONValue] {
                let result = try await job("wait", [id, "--timeout", "\(Int(timeout))s"], timeout: timeout + 30)
                guard result.status == 0 || result.status == 1 else {
                    throw SetupFailure("dz job wait \(id): \(result)\n\(coordinator.errorTail)")
                }
                return try #require(try await show(id))
            }

            func cleanUp() { spool.cleanUp() }
        }

        static func steps(_ job: [String: JSONValue]) -> [String: [String: JSONValue]] {
            var steps: [String: [String: JSONValue]] = [:]
            for step in job["steps"]?.arrayValue ?? [] {
                if let object = step.objectValue, let name = object["name"]?.stringValue { steps[name] = object }
            }
            return steps
        }

        @Test(.timeLimit(.minutes(3)))
        func selftestSucceedsAcrossAgents() async throws {
            let cluster = try await Cluster()
            defer { cluster.cleanUp() }
            let id = try await cluster.submit(["appservers=app1,app2"])
            let job = try await cluster.waitForEnd(id)
            #expect(job["state"] == .string("succeeded"), "\(job)")
            let steps = Self.steps(job)
            #expect(Set(steps.keys) == ["checkout", "bundle", "create_database", "upload", "placement", "deploy.0",
                                        "deploy.1", "post_deploy_hooks", "proxy_update", "retire_old"])
            #expect(steps.values.allSatisfy { $0["state"] == .string("succeeded") })
            #expect(steps["deploy.1"]?["queue"] == .string("appserver_app2"))
            #expect(steps["deploy.1"]?["host"] == .string("app2"))
            #expect(steps["proxy_update"]?["host"] == .string("frontend"))
            #expect(steps["create_database"]?["host"] == .string("builder"))
            #expect(job["result"] == .object(["appservers": .array([.string("app1"), .string("app2")])]))
            let log = job["log"]?.arrayValue ?? []
            let begins = log.filter { $0["level"] == .string("step-begin") }.count
            let ends = log.filter { $0["level"] == .string("step-end") }.count
            #expect(begins == 10 && ends == 10, "log: \(log)")
        }

        @Test(.timeLimit(.minutes(3)))
        func failingStepIsRetriedThenFailsTheJobAndRunsCompensation() async throws {
            let cluster = try await Cluster()
            defer { cluster.cleanUp() }
            let id = try await cluster.submit(["appservers=app1,app2", "fail=post_deploy_hooks", "max_attempts=3",
                                               "backoff_s=0.1"])
            let job = try await cluster.waitForEnd(id)
            #expect(job["state"] == .string("failed"))
            let steps = Self.steps(job)
            #expect(steps["post_deploy_hooks"]?["state"] == .string("failed"))
            #expect(steps["post_deploy_hooks"]?["attempt"] == .int(3), "used all its attempts")
            #expect(steps["proxy_update"] == nil, "the proxy is not switched")
            #expect(steps["stop_new_instances.0"]?["state"] == .string("succeeded"))
            #expect(steps["stop_new_instances.1"]?["state"] == .string("succeeded"))
            #expect(cluster.spool.records(event: "started", task: "\(id).post_deploy_hooks").count == 3)
        }

        @Test(.timeLimit(.minutes(3)))
        func stepPastItsTimeLimitFailsTheJob() async throws {
            let cluster = try await Cluster()
            defer { cluster.cleanUp() }
            let id = try await cluster.submit(["hang=upload", "timeout_s=1", "max_attempts=2", "backoff_s=0.1"])
            let job = try await cluster.waitForEnd(id)
            #expect(job["state"] == .string("failed"))
            let upload = Self.steps(job)["upload"]
            #expect(upload?["error_kind"] == .string("timeout"))
            #expect(upload?["attempt"] == .int(2))
            #expect(Self.steps(job)["placement"] == nil)
        }

        @Test(.timeLimit(.minutes(3)))
        func cancelMidJobStopsTheRunningTaskAndStartsNothingMore() async throws {
            let cluster = try await Cluster(lease: "3s")
            defer { cluster.cleanUp() }
            let id = try await cluster.submit(["slow=bundle:60"])
            let running = await waitUntil(timeout: 60) {
                cluster.spool.records(event: "started", task: "\(id).bundle").count == 1
            }
            try #require(running, "bundle never started")
            let cancel = try await cluster.job("cancel", [id])
            #expect(cancel.status == 0, "\(cancel)")
            let job = try await cluster.waitForEnd(id, timeout: 60)
            #expect(job["state"] == .string("cancelled"))
            let steps = Self.steps(job)
            #expect(steps["bundle"]?["state"] == .string("cancelled"))
            #expect(steps["bundle"]?["error_kind"] == .string("cancelled"))
            #expect(steps["create_database"] == nil && steps["upload"] == nil)
            #expect(cluster.spool.dayNames("build", "done").contains("\(id).bundle.json") == false)
        }

        @Test(.timeLimit(.minutes(6)))
        func coordinatorKilledAtRandomMomentsStillFinishesEveryJobOnce() async throws {
            // A long lease: this test is about the coordinator; a starved agent on a loaded machine must not lose
            // a lease and run a step twice for reasons of its own.
            var cluster = try await Cluster(lease: "60s")
            defer { cluster.cleanUp() }
            var ids: [String] = []
            for index in 0..<8 {
                ids.append(try await cluster.submit(["appservers=app1,app2", "slow=deploy:0.\(index % 3 + 1)"]))
            }
            var generator = SystemRandomNumberGenerator()
            var kills = 0
            for _ in 0..<12 {
                try await Task.sleep(nanoseconds: UInt64.random(in: 50_000_000...400_000_000, using: &generator))
                cluster.coordinator.kill()
                kills += 1
                cluster.coordinator = try await Cluster.startCoordinator(cluster.spool)
            }
            for id in ids {
                let job = try await cluster.waitForEnd(id, timeout: 180)
                #expect(job["state"] == .string("succeeded"), "\(id): \(job)")
                #expect(Self.steps(job).count == 10)
            }
            // No step ran more often than its attempts allow (2); none ran twice without a failure in between.
            let started = cluster.spool.auditRecords().filter { $0.event == "started" }
            var runs: [String: Int] = [:]
            for record in started { runs[record["task"] ?? "", default: 0] += 1 }
            for id in ids {
                for (task, count) in runs where task.hasPrefix(id + ".") {
                    #expect(count == 1, """
                        \(task) started \(count) times after \(kills) coordinator kills:
                        \(cluster.spool.auditRecords().filter { $0["task"] == task }.map(\.line).joined(separator: "\n"))
                        """)
                }
            }
        }

        /// A git repository made from one of the inspection fixtures, in the cluster's scratch directory.
        func repository(_ cluster: Cluster, fixture: String) async throws -> String {
            let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("DZWorkTests/Fixtures/projects/" + fixture).path
            let path = cluster.spool.directory + "/repos/" + fixture
            try FileManager.default.createDirectory(atPath: cluster.spool.directory + "/repos",
                                                    withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: fixtures, toPath: path)
            for arguments in [["init", "-q"], ["add", "-A"],
                              ["-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "import"]] {
                let git = try await cluster.spool.tool("/usr/bin/git", ["-C", path] + arguments)
                guard git.status == 0 else { throw SetupFailure("git \(arguments): \(git)") }
            }
            return path
        }

        @Test(.timeLimit(.minutes(3)))
        func checkRepoRecordsGuessesAndProposesAConfig() async throws {
            let cluster = try await Cluster()
            defer { cluster.cleanUp() }
            let repo = try await repository(cluster, fixture: "startproject")
            let submitted = try await cluster.job("submit", ["check_repo", "--project", "shop", "--param",
                                                             "source=file://" + repo])
            let id = submitted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let job = try await cluster.waitForEnd(id)
            #expect(job["state"] == .string("succeeded"), "\(job)")
            let result = try #require(job["result"]?.objectValue)
            #expect(result["revision"]?["subject"] == .string("import"))
            let guesses = (result["guesses"]?.arrayValue ?? []).compactMap(\.objectValue)
            let primary = Dictionary(guesses.filter { $0["is_primary"] == .bool(true) }
                .map { ($0["field"]?.stringValue ?? "", $0["value"]?.stringValue ?? "") }) { first, _ in first }
            #expect(primary["django_settings_module"] == "mysite.settings")
            #expect(primary["django_version"] == "4.2.7")
            let config = try await runDZ(cluster, ["project", "config", "shop"])
            #expect(config.status == 0, "\(config)")
            #expect(config.stdout.contains("django_settings_module = mysite.settings"))
            #expect(config.stdout.contains("source_code_url = file://" + repo))
        }

        @Test(.timeLimit(.minutes(3)))
        func checkRepoOfANonDjangoRepositoryFailsClearly() async throws {
            let cluster = try await Cluster()
            defer { cluster.cleanUp() }
            let repo = try await repository(cluster, fixture: "not-django")
            let submitted = try await cluster.job("submit", ["check_repo", "--project", "plain", "--param",
                                                             "source=" + repo])
            let job = try await cluster.waitForEnd(submitted.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(job["state"] == .string("failed"))
            let step = Self.steps(job)["check_repo"]
            #expect(step?["error_kind"] == .string("not-django"))
            #expect(step?["attempt"] == .int(1), "not retried")
            #expect(step?["error"]?.stringValue?.contains("not a Django project") == true)

            let missing = try await cluster.job("submit", ["check_repo", "--project", "gone", "--param",
                                                           "source=" + cluster.spool.directory + "/no-such-repo"])
            let failed = try await cluster.waitForEnd(missing.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(failed["state"] == .string("failed"))
            #expect(Self.steps(failed)["check_repo"]?["error_kind"] == .string("checkout"))
        }

        @Test(.timeLimit(.minutes(10)))
        func buildJobStoresABundleAndProvisionsTheDatabaseThenDeletesIt() async throws {
            let cluster = try await Cluster(lease: "60s")
            defer { cluster.cleanUp() }
            let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("examples/hello").path
            let repo = cluster.spool.directory + "/hello"
            try FileManager.default.copyItem(atPath: examples, toPath: repo)
            for arguments in [["init", "-q"], ["add", "-A"],
                              ["-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "hello"]] {
                let git = try await cluster.spool.tool("/usr/bin/git", ["-C", repo] + arguments)
                try #require(git.status == 0, "git \(arguments): \(git)")
            }
            let submitted = try await cluster.job("submit", ["build", "--project", "hello", "--param", "source=" + repo])
            let id = submitted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let job = try await cluster.waitForEnd(id, timeout: 480)
            #expect(job["state"] == .string("succeeded"), "\(job)")
            let result = try #require(job["result"]?.objectValue)
            let bundle = try #require(result["bundle"]?.stringValue)
            let stored = cluster.spool.directory + "/store/hello/" + bundle + ".tar.zst"
            #expect(FileManager.default.fileExists(atPath: stored))
            #expect(FileManager.default.fileExists(atPath: stored + ".manifest.json"))
            #expect(result["database"]?["engine"] == .string("sqlite"))
            let show = try await cluster.job("show", [id])
            #expect(!show.stdout.contains("\"password\":\"") || show.stdout.contains("\"password\":\"***\""))
            // Ran on the roles' hosts: the build and the database on the builder.
            #expect(Self.steps(job)["bundle_upload"]?["host"] == .string("builder"))

            let deleting = try await cluster.job("submit", ["delete_versions", "--project", "hello", "--param",
                                                            "bundles=" + bundle])
            let deleted = try await cluster.waitForEnd(deleting.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(deleted["state"] == .string("succeeded"))
            #expect(!FileManager.default.fileExists(atPath: stored))
        }

        /// `dz <command> <sub> --spool <root> <rest...>` for two-word commands.
        func runDZ(_ cluster: Cluster, _ words: [String]) async throws -> CommandResult {
            try await cluster.spool.dz(words)
        }

        @Test(.timeLimit(.minutes(3)))
        func duplicateResultFilesChangeNothing() async throws {
            let cluster = try await Cluster()
            defer { cluster.cleanUp() }
            let id = try await cluster.submit(["slow=bundle:1"])
            let checkoutResult = "\(id).checkout.json"
            let delivered = await waitUntil(timeout: 60) {
                cluster.spool.findInDays("results", "done", checkoutResult) != nil
            }
            try #require(delivered, "the checkout result was never taken in")
            // While bundle runs: the checkout result arrives again, twice.
            let original = try #require(cluster.spool.findInDays("results", "done", checkoutResult))
            let bytes = try #require(FileManager.default.contents(atPath: original))
            for copy in 0..<2 {
                let temporary = cluster.spool.path("results", "tmp") + "/dup\(copy)"
                try cluster.spool.write([UInt8](bytes), to: temporary)
                _ = await waitUntil(timeout: 30) {
                    !FileManager.default.fileExists(atPath: cluster.spool.path("results", "new") + "/" + checkoutResult)
                }
                try FileManager.default.moveItem(atPath: temporary,
                                                 toPath: cluster.spool.path("results", "new") + "/" + checkoutResult)
            }
            let job = try await cluster.waitForEnd(id)
            #expect(job["state"] == .string("succeeded"))
            #expect(cluster.spool.records(event: "started", task: "\(id).bundle").count == 1, "bundle dispatched once")
            let drained = await waitUntil(timeout: 30) { cluster.spool.names("results", "new").isEmpty }
            #expect(drained, "duplicates are retired, not left waiting")
        }
    }
}
