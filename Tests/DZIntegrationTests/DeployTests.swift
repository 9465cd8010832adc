import DZSpool
import DZStore
import DZSystem
import DZTestSupport
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension Integration {
    /// The main job end to end: `dz deploy` of examples/hello through a real coordinator and one agent per role
    /// (builder: build,database; frontend: proxy; app1 and app2: appservers), with nginx, PostgreSQL, gunicorn
    /// and git for real. One cluster for the whole story, since every deploy after the first reuses the builder's
    /// virtualenv: first deploy, redeploy under load, a failed migration, a failed health check, undeploy.
    @Suite(.serialized) struct DeployTests {
        static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("examples/hello").path
        static let hostname = "hello.test"

        final class Cluster {
            let spool: TestSpool
            let postgres: PostgresCluster
            let nginx: NginxServer
            let repository: String
            var coordinator: DZProcess?
            var agents: [String: DZProcess] = [:]
            /// Another host's view of the spool (bindfs), from which the first deploy is made and followed.
            var elsewhere: RescanTests.BindfsViews?
            /// The ports each appserver gives its instances: suites that deploy have their own ranges.
            let appPorts: [String: String]
            /// The appservers' host ids.
            let appservers: [String]
            /// The appserver whose agent also serves the proxy queue (one host for both, so nginx can serve the
            /// app's media directory); nil: a frontend host of its own.
            let proxyHost: String?
            /// The project deployed (`hello` unless a test needs a user no other suite shares).
            let project: String

            init(appPorts: [String: String], appservers: [String] = ["app1", "app2"], proxyHost: String? = nil,
                 project: String = "hello") async throws
            {
                self.project = project
                self.appPorts = appPorts
                self.appservers = appservers
                self.proxyHost = proxyHost
                spool = try TestSpool()
                // Apps run as their own users and nginx's workers as nobody: the scratch directory (0700 from
                // mkdtemp) must be searchable by them.
                chmod(spool.directory, 0o755)
                postgres = try await PostgresCluster.start()
                do {
                    nginx = try await NginxServer.start()
                } catch {
                    await postgres.stop()
                    throw error
                }
                repository = spool.directory + "/hello"
            }

            var common: [String] {
                ["--rescan", "500ms", "--no-fsync", "--bundle-store", "file://" + spool.directory + "/store"]
            }

            var proxyFlags: [String] {
                ["--nginx-prefix", nginx.prefix, "--nginx-conf", nginx.confPath, "--nginx-sites", nginx.sitesDirectory,
                 "--proxy-port", String(nginx.port), "--proxy-address", "127.0.0.1"]
            }

            func start() async throws {
                coordinator = try await JobTests.Cluster.startCoordinator(spool)
                let roles: [(String, String, [String])] = [
                    ("builder", "build,database",
                     ["--allow-local-sources", "--db-engine", "postgresql", "--pg-admin-host", "127.0.0.1",
                      "--pg-admin-port", String(postgres.port), "--pg-admin-passfile", postgres.adminPassfile]),
                ] + (proxyHost == nil ? [("frontend", "proxy", proxyFlags)] : [])
                    // Two appservers on one host, one address: each its own ports, as two hosts would have.
                    + appservers.map { host in
                        host == proxyHost ? (host, "appserver_" + host + ",proxy", appserverFlags(host) + proxyFlags)
                            : (host, "appserver_" + host, appserverFlags(host))
                    }
                for (host, queues, extra) in roles { try await startAgent(host, queues: queues, extra) }
                elsewhere = try await RescanTests.BindfsViews(spool.root, at: [spool.directory + "/elsewhere"],
                                                              logDirectory: spool.logDirectory)
            }

            func startAgent(_ host: String, queues: String, _ extra: [String]) async throws {
                agents[host] = try await spool.startAgent(host: host, queues: queues,
                                                          common + ["--data-dir", spool.directory + "/var-" + host] + extra)
            }

            /// Stops the frontend host's agent (the proxy's, when it has a host of its own) with SIGTERM.
            func stopFrontend() async throws {
                guard proxyHost == nil, let agent = agents["frontend"] else { throw SetupFailure("no frontend agent") }
                agent.send(SIGTERM)
                guard await agent.waitForExit(timeout: 120) else {
                    throw SetupFailure("the frontend agent did not stop within 120 s of SIGTERM:\n\(agent.errorTail)")
                }
            }

            func startFrontend() async throws { try await startAgent("frontend", queues: "proxy", proxyFlags) }

            /// Stops appserver `host`'s agent with SIGTERM and starts it again with the same settings.
            func restartAppserver(_ host: String) async throws {
                guard let agent = agents[host] else { throw SetupFailure("no agent \(host)") }
                agent.send(SIGTERM)
                guard await agent.waitForExit(timeout: 120) else {
                    throw SetupFailure("agent \(host) did not stop within 120 s of SIGTERM:\n\(agent.errorTail)")
                }
                guard proxyHost != host else { throw SetupFailure("restarting the proxy's host is not supported") }
                try await startAgent(host, queues: "appserver_" + host, appserverFlags(host))
            }

            /// The names of the proxy's staged static directories of the example's project (`.staged-<bundle>`).
            func stagedStatic() -> [String] {
                let directory = spool.directory + "/var-" + (proxyHost ?? "frontend") + "/static/hello"
                return ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
                    .filter { $0.hasPrefix(".staged-") }.sorted()
            }

            func appserverFlags(_ host: String) -> [String] {
                ["--supervise", "500ms", "--app-ports", appPorts[host] ?? "29000-29999"]
            }

            /// A started cluster with the example's repository, given to `story`, stopped afterwards whatever
            /// happened.
            static func with(appPorts: [String: String], appservers: [String] = ["app1", "app2"],
                             proxyHost: String? = nil, project: String = "hello",
                             _ story: (Cluster) async throws -> Void) async throws
            {
                await DeployTests.forgetStaleAppUser(project)
                let cluster = try await Cluster(appPorts: appPorts, appservers: appservers, proxyHost: proxyHost,
                                                project: project)
                do {
                    try await cluster.start()
                    try await cluster.makeRepository()
                    try await story(cluster)
                } catch {
                    await cluster.stop()
                    throw error
                }
                await cluster.stop()
            }

            /// A git repository of examples/hello, as a user's would be.
            func makeRepository() async throws {
                try FileManager.default.copyItem(atPath: DeployTests.example, toPath: repository)
                try await git(["init", "-q", "--initial-branch=main"])
                try await commit("hello")
            }

            func git(_ arguments: [String]) async throws {
                let outcome = try await Subprocess.run(
                    ["git", "-c", "user.email=t@dz.invalid", "-c", "user.name=t"] + arguments,
                    environment: ["PATH": "/usr/bin:/bin", "HOME": spool.directory, "GIT_CONFIG_NOSYSTEM": "1"],
                    workingDirectory: repository, timeout: 60)
                guard outcome.succeeded else { throw SetupFailure("git \(arguments): \(outcome.tail())") }
            }

            func commit(_ message: String) async throws {
                try await git(["add", "-A"])
                try await git(["commit", "-qm", message])
            }

            func write(_ text: String, to relative: String) throws {
                try text.write(toFile: repository + "/" + relative, atomically: true, encoding: .utf8)
            }

            /// `dz deploy` of the repository; returns the job id and the command's result. `fromElsewhere`: from
            /// another host (its own view of the spool and host id, no zoomdb), following the job through what the
            /// coordinator publishes.
            func deploy(_ extra: [String] = [], fromElsewhere: Bool = false) async throws
                -> (job: String, result: CommandResult)
            {
                let view = fromElsewhere ? spool.directory + "/elsewhere" : nil
                let result = try await spool.dz(["deploy", repository, "--project", project, "--hostname",
                                                 DeployTests.hostname, "--instances", "2", "--workers", "1",
                                                 "--db-engine", "postgresql"] + extra
                                                    + (fromElsewhere ? ["--host-id", "elsewhere"] : []),
                                                via: view, timeout: 900,
                                                environment: fromElsewhere ? ["DZ_DB": spool.directory + "/none.sqlite3"] : [:])
                let first = result.stdout.split(separator: "\n").first ?? ""
                guard first.hasPrefix("job "), let id = first.dropFirst(4).split(separator: ":").first else {
                    throw SetupFailure("dz deploy printed no job id: \(result)")
                }
                return (String(id), result)
            }

            /// Commits `DeployTests.failingMigration` and deploys it: the job id, the command's result, the job as
            /// `dz job show` gives it and its steps by name.
            func deployFailingMigration() async throws
                -> (job: String, result: CommandResult, shown: [String: JSONValue], steps: [String: [String: JSONValue]])
            {
                try write(DeployTests.failingMigration, to: "greetings/migrations/0002_fails.py")
                try await commit("a failing migration")
                let (job, result) = try await deploy()
                let shown = try await show(job)
                return (job, result, shown, DeployTests.steps(shown))
            }

            func show(_ id: String) async throws -> [String: JSONValue] {
                let result = try await spool.dz(["job", "show", id, "--json"])
                guard result.status == 0, let job = try JSONValue.parse(Array(result.stdout.utf8)).objectValue else {
                    throw SetupFailure("dz job show \(id): \(result)")
                }
                return job
            }

            /// `GET path` through nginx with the app's Host header: the status and the body.
            func get(_ path: String = "/", host: String = DeployTests.hostname) async -> (Int, String) {
                await DeployTests.get(path, host: host, port: nginx.port)
            }

            func stop() async {
                // The instances outlive their agents by design: undeploy them, then stop everything else.
                _ = try? await spool.dz(["undeploy", "--project", project], timeout: 120)
                spool.killAll()
                elsewhere?.unmount()
                await nginx.stop()
                await postgres.stop()
                spool.cleanUp()
            }
        }

        /// `GET path` on 127.0.0.1:`port`, one connection per request: the status and the body, or 0 and why
        /// there was no answer.
        static func get(_ path: String, host: String, port: Int) async -> (Int, String) {
            do {
                let reply = try await NginxServer.get(path, host: host, port: port)
                return (reply.status, reply.body)
            } catch {
                return (0, "\(error)")
            }
        }

        static func steps(_ job: [String: JSONValue]) -> [String: [String: JSONValue]] {
            JobTests.steps(job)
        }

        /// Removes the user `dz_<project>` (and its group) when it is not the one a fresh zoomdb allocates for the
        /// project (left by an older dz on this shared host), so that the appserver does not refuse it.
        static func forgetStaleAppUser(_ project: String) async {
            guard getuid() == 0 else { return }
            let name = AppUserRecord.userName(project: project, uid: 0)
            let uid = AppUserRecord.preferredUID(project: project)
            let user = UserDatabase.user(named: name)
            if let user, user.uid != uid || user.comment != "dz app " + project {
                _ = try? await Subprocess.run(["userdel", name], timeout: 60)
            }
            if UserDatabase.user(named: name) == nil, UserDatabase.group(named: name) != nil {
                _ = try? await Subprocess.run(["groupdel", name], timeout: 60)
            }
        }

        /// Whether something accepts connections on 127.0.0.1:port.
        static func listening(_ port: Int) -> Bool { FreePort.isListening(port) }

        static func instances(_ job: [String: JSONValue]) -> [(instance: String, port: Int, user: String, pid: Int)] {
            steps(job).filter { $0.key.hasPrefix("deploy.") && $0.value["state"] == .string("succeeded") }
                .sorted { $0.key < $1.key }
                .compactMap { _, step in
                    guard let output = step["output"]?.objectValue, let instance = output["instance"]?.stringValue,
                          let port = output["port"]?.intValue else { return nil }
                    return (instance, Int(port), output["user"]?.stringValue ?? "", Int(output["pid"]?.intValue ?? 0))
                }
        }

        /// Requests through nginx in a loop until cancelled: how many, and the ones that failed.
        final class LoadClient: Sendable {
            let counts = Mutex<(total: Int, failures: [String])>((0, []))

            func run(port: Int) async {
                while !Task.isCancelled {
                    let (code, body) = await DeployTests.get("/", host: DeployTests.hostname, port: port)
                    // A request cut short by the end of the loop is no answer of the server's.
                    if Task.isCancelled { break }
                    counts.withLock { counts in
                        counts.total += 1
                        if code != 200 { counts.failures.append("\(code): \(body.prefix(200))") }
                    }
                }
            }
        }

        @Test(.timeLimit(.minutes(30)))
        func buildAndDeployTheExampleThenRedeployFailAndUndeploy() async throws {
            try await Cluster.with(appPorts: ["app1": "21000-21999", "app2": "22000-22999"], story)
        }

        func story(_ cluster: Cluster) async throws {
            // 1. The first deploy, made and followed from another host: a page through nginx by Host header, its
            //    static file from nginx, the database on PostgreSQL with the migration applied, the app under its
            //    own user.
            let (firstJob, first) = try await cluster.deploy(fromElsewhere: true)
            #expect(first.status == 0, "\(first)")
            #expect(first.stdout.contains(" proxy_update succeeded on frontend"), "its progress: \(first.stdout)")
            #expect(first.stdout.contains("http://\(Self.hostname):\(cluster.nginx.port)/"), "the URL: \(first.stdout)")
            let firstShown = try await cluster.show(firstJob)
            #expect(firstShown["state"] == .string("succeeded"), "\(firstShown)")
            let old = Self.instances(firstShown)
            #expect(old.count == 2)
            let (code, page) = await cluster.get()
            #expect(code == 200)
            #expect(page.contains("Hello from dz"))
            #expect(page.contains("0 greetings"), "the view read the (empty) table on PostgreSQL")
            let (cssCode, css) = await cluster.get("/static/greetings/style.css")
            #expect(cssCode == 200)
            let expectedCSS = try String(contentsOfFile: Self.example + "/greetings/static/greetings/style.css",
                                         encoding: .utf8)
            #expect(css == expectedCSS, "served by nginx from the bundle")
            let firstSteps = Self.steps(firstShown)
            #expect(firstSteps["stage_static"]?["output"]?["state"] == .string("staged"), "\(firstSteps)")
            #expect(firstSteps["proxy_update"]?["output"]?["static_source"] == .string("staged"),
                    "the switch took the files staged while the app deployed")
            #expect(cluster.stagedStatic() == [], "nothing is left staged once live")
            let (wrongHost, _) = await cluster.get(host: "other.test")
            #expect(wrongHost == 404, "another name reaches nginx's default server, not the app")
            let tables = try await cluster.postgres.query(
                "SELECT count(*) FROM pg_tables WHERE tablename = 'greetings_greeting'", database: "app_hello")
            #expect(tables.trimmingCharacters(in: .whitespacesAndNewlines) == "1", "migrated on PostgreSQL")
            for instance in old {
                #expect(instance.user == "dz_hello")
                let status = (try? String(contentsOfFile: "/proc/\(instance.pid)/status", encoding: .utf8)) ?? ""
                let uid = status.split(separator: "\n").first { $0.hasPrefix("Uid:") }?
                    .split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().first
                #expect(uid != nil && uid != "0", "gunicorn runs as the app's user, not root: \(instance)")
            }

            // 1b. Supervision: a killed master is started again by its appserver's agent; an agent restarted while
            //     its instance runs adopts it (the same master keeps serving, no second one starts).
            let victim = try #require(old.first, "the first deploy started instances")
            // <bundle>.<appserver>.<port>.<started>
            let appserver = String(victim.instance.split(separator: ".").dropLast(2).last ?? "app1")
            let record = cluster.spool.directory + "/var-\(appserver)/instances/hello/\(victim.instance).json"
            func recordedPID() -> Int? {
                guard let data = FileManager.default.contents(atPath: record),
                      let object = try? JSONValue.parse(Array(data)).objectValue else { return nil }
                return object["pid"]?.intValue.map(Int.init)
            }
            #expect(recordedPID() == victim.pid)
            kill(pid_t(victim.pid), SIGKILL)
            // The killed master's workers keep the listening socket for a while: wait for the new master.
            let relaunched = await waitUntil(timeout: 60, every: 0.2) {
                guard let pid = recordedPID(), pid != victim.pid else { return false }
                return FileSystem.exists("/proc/\(pid)") && Self.listening(victim.port)
            }
            #expect(relaunched, "the supervisor relaunched \(victim.instance)")
            // Settled: the supervisor has finished the relaunch, the instance answers, and its agent has looked at
            // it again since.
            let finished = await waitUntil(timeout: 60, every: 0.2) {
                cluster.agents[appserver]?.standardError.contains("instance relaunched") == true
            }
            #expect(finished, "the supervisor logged the relaunch")
            var answering = false
            for _ in 0..<100 where !answering {
                answering = await Self.get("/", host: Self.hostname, port: victim.port).0 == 200
                if !answering { try await Task.sleep(nanoseconds: 200_000_000) }
            }
            #expect(answering, "the relaunched instance serves the page")
            try await Task.sleep(nanoseconds: 1_500_000_000)
            let master = recordedPID()
            try await cluster.restartAppserver(appserver)
            let adopted = await waitUntil(timeout: 30, every: 0.2) {
                cluster.agents[appserver]?.standardError.contains("instance adopted") == true
            }
            #expect(adopted, "the restarted agent adopted the running instance")
            try await Task.sleep(nanoseconds: 2_000_000_000) // four supervision rounds of the new agent
            #expect(recordedPID() == master, "the same master serves: no second one was started")
            #expect(master.map { FileSystem.exists("/proc/\($0)") } == true)
            #expect(Self.listening(victim.port))
            let (afterRestart, _) = await cluster.get()
            #expect(afterRestart == 200)

            // 2. Redeploy a code change while a client loops requests: none fails, the new page is served after
            //    the job, the old instances are gone.
            let template = "greetings/templates/greetings/index.html"
            let original = try String(contentsOfFile: cluster.repository + "/" + template, encoding: .utf8)
            try cluster.write(original.replacingOccurrences(of: "<h1>{{ greeting }}</h1>",
                                                            with: "<h1>Hello again from dz</h1>"), to: template)
            try await cluster.commit("v2")
            let client = LoadClient()
            let port = cluster.nginx.port
            let load = Task { await client.run(port: port) }
            let (secondJob, second) = try await cluster.deploy()
            _ = await cluster.get() // at least one request after the switch
            load.cancel()
            await load.value
            let (total, failures) = client.counts.withLock { ($0.total, $0.failures) }
            #expect(second.status == 0, "\(second)")
            #expect(total > 10, "the client kept asking during the redeploy: \(total) requests")
            #expect(failures.isEmpty, "\(failures.count) of \(total) requests failed: \(failures.prefix(5))")
            print("redeploy under load: \(total) requests, \(failures.count) failed")
            let (_, newPage) = await cluster.get()
            #expect(newPage.contains("Hello again from dz"))
            let secondShown = try await cluster.show(secondJob)
            let retired = Self.steps(secondShown).filter { $0.key.hasPrefix("retire_old") }
            #expect(!retired.isEmpty && retired.values.allSatisfy { $0["state"] == .string("succeeded") })
            for instance in old {
                #expect(!Self.listening(instance.port), "the old instance \(instance.instance) is stopped")
            }
            let current = Self.instances(secondShown)

            // 3. A failing migration: the job fails before the switch, the new instances are stopped, the
            //    current version keeps serving.
            let (_, migration, migrationShown, migrationSteps) = try await cluster.deployFailingMigration()
            #expect(migration.status == 1, "\(migration)")
            #expect(migrationSteps["post_deploy_hooks"]?["state"] == .string("failed"))
            #expect(migrationSteps["post_deploy_hooks"]?["error"]?.stringValue?.contains("fails on purpose") == true)
            #expect(migrationSteps["proxy_update"] == nil, "traffic never switched")
            #expect(migrationSteps["unstage_static.0"]?["output"]?["removed"] == .bool(true), "\(migrationSteps)")
            #expect(cluster.stagedStatic() == [], "the failed release's staged static files were removed")
            for instance in Self.instances(migrationShown) {
                #expect(!Self.listening(instance.port), "the new instance \(instance.instance) was stopped")
            }
            let (afterMigration, stillServed) = await cluster.get()
            #expect(afterMigration == 200 && stillServed.contains("Hello again from dz"))
            try await cluster.git(["rm", "-q", "greetings/migrations/0002_fails.py"])
            try await cluster.commit("no failing migration")

            // 4. A failing health check (the view raises): the deploy step fails, the current version serves.
            let views = try String(contentsOfFile: cluster.repository + "/greetings/views.py", encoding: .utf8)
            try cluster.write(views + "\n\ndef index(request):\n    raise RuntimeError(\"broken on purpose\")\n",
                              to: "greetings/views.py")
            try await cluster.commit("a broken view")
            let (healthJob, health) = try await cluster.deploy(["--param", "health_timeout_s=15"])
            #expect(health.status == 1, "\(health)")
            let healthSteps = Self.steps(try await cluster.show(healthJob))
            #expect(healthSteps.filter { $0.key.hasPrefix("health_check.") }.values
                .contains { $0["error_kind"] == .string("health-check") }, "\(healthSteps)")
            #expect(healthSteps["proxy_update"] == nil, "traffic never switched")
            #expect(cluster.stagedStatic() == [], "the failed release's staged static files were removed")
            for instance in Self.instances(try await cluster.show(healthJob)) {
                #expect(!Self.listening(instance.port), "the unhealthy instance \(instance.instance) was stopped")
            }
            let (afterHealth, servedAgain) = await cluster.get()
            #expect(afterHealth == 200 && servedAgain.contains("Hello again from dz"))
            for instance in current {
                #expect(Self.listening(instance.port), "the serving instance \(instance.instance) still runs")
            }

            // 5. Undeploy: the site is gone, the instances stopped, the database kept.
            let undeploy = try await cluster.spool.dz(["undeploy", "--project", "hello"], timeout: 300)
            #expect(undeploy.status == 0, "\(undeploy)")
            let (gone, _) = await cluster.get()
            #expect(gone == 404, "the site is removed from nginx")
            for instance in current {
                #expect(!Self.listening(instance.port), "\(instance.instance) is stopped")
            }
            let kept = try await cluster.postgres.query("SELECT count(*) FROM pg_database WHERE datname = 'app_hello'")
            #expect(kept.trimmingCharacters(in: .whitespacesAndNewlines) == "1", "the database is kept")
        }

        @Test(.timeLimit(.minutes(30)), .enabled(if: getuid() == 0))
        func theFirstDeployOfANewProjectWithTwoInstancesOnOneAppserverSucceeds() async throws {
            // New to this host: the project's user does not exist, and both deploy steps need it at once. A project
            // of its own: `dz_hello` is used by suites running beside this one (DZWorkTests' HostileTenants).
            let project = "firstdeploy"
            let userName = "dz_" + project
            _ = try? await Subprocess.run(["userdel", userName], timeout: 60)
            _ = try? await Subprocess.run(["groupdel", userName], timeout: 60)
            #expect(UserDatabase.user(named: userName) == nil)
            try await Cluster.with(appPorts: ["app1": "24000-24999"], appservers: ["app1"], project: project) { cluster in
                let (job, result) = try await cluster.deploy()
                #expect(result.status == 0, "\(result)")
                let shown = try await cluster.show(job)
                let instances = Self.instances(shown)
                #expect(instances.count == 2 && instances.allSatisfy { $0.instance.contains(".app1.") },
                        "both on the one appserver: \(instances)")
                let user = try #require(UserDatabase.user(named: userName))
                #expect(user.uid == AppUserRecord.preferredUID(project: project) && user.comment == "dz app " + project,
                        "the user the zoomdb allocated")
                let zoomdb = try ZoomDB(path: cluster.spool.zoomdbPath)
                #expect(try zoomdb.appUser(of: project)?.uid == user.uid, "recorded with its owner")
                for instance in instances {
                    #expect(instance.user == userName)
                    let status = (try? String(contentsOfFile: "/proc/\(instance.pid)/status", encoding: .utf8)) ?? ""
                    let uid = status.split(separator: "\n").first { $0.hasPrefix("Uid:") }?
                        .split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().first
                    #expect(uid.map(String.init) == String(user.uid), "each master runs as the one user: \(instance)")
                    #expect(await Self.get("/", host: Self.hostname, port: instance.port).0 == 200,
                            "each instance reads its bundle and serves: \(instance)")
                }
                let (code, page) = await cluster.get()
                #expect(code == 200 && page.contains("Hello from dz"))
            }
        }

        /// A migration of the example's that raises.
        static let failingMigration = """
            from django.db import migrations


            def fail(apps, schema_editor):
                raise RuntimeError("this migration fails on purpose")


            class Migration(migrations.Migration):
                dependencies = [("greetings", "0001_initial")]
                operations = [migrations.RunPython(fail)]

            """

        /// A release that fails while no agent serves the proxy ends as soon as its compensation has run: its
        /// stage_static, still waiting in `proxy/new/`, is withdrawn, instead of holding the job until the stage's
        /// time limit (600 s) with the new instances left running.
        @Test(.timeLimit(.minutes(20)), .enabled(if: getuid() == 0))
        func aReleaseFailingWhileTheProxyIsDownEndsWithoutWaitingForIt() async throws {
            try await Cluster.with(appPorts: ["app1": "34000-34999"], appservers: ["app1"]) { cluster in
                try await cluster.stopFrontend()
                let (job, result, shown, steps) = try await cluster.deployFailingMigration()
                #expect(result.status == 1, "\(result)")
                #expect(shown["state"] == .string("failed"))
                #expect(steps["post_deploy_hooks"]?["state"] == .string("failed"))
                #expect(steps["stage_static"]?["state"] == .string("cancelled")
                        && steps["stage_static"]?["error_kind"] == .string("withdrawn"),
                        "taken back from the queue nobody serves: \(steps["stage_static"] ?? [:])")
                #expect(steps["unstage_static.0"] == nil, "nothing was staged, nothing to remove")
                #expect(steps["stop_new_instances.0"]?["state"] == .string("succeeded"), "\(steps.keys.sorted())")
                for instance in Self.instances(shown) {
                    #expect(!Self.listening(instance.port), "\(instance.instance) was stopped")
                }
                let withdrawn = cluster.spool.dayNames("proxy", "failed")
                #expect(withdrawn == ["\(job).stage_static.json", "\(job).stage_static.json.reason"],
                        "the withdrawn task kept aside with its reason: \(withdrawn)")
                let reason = cluster.spool.findInDays("proxy", "failed", "\(job).stage_static.json.reason")
                    .flatMap { try? String(contentsOfFile: $0, encoding: .utf8) } ?? ""
                #expect(reason.contains("withdrawn: job failing"), "\(reason)")
                // Back, so that the cluster's undeploy finds its proxy.
                try await cluster.startFrontend()
            }
        }

        @Test func hostileNamesAreRefusedBeforeAnythingRuns() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            for arguments in [["deploy", "/tmp/x", "--project", "../etc"], ["deploy", "/tmp/x", "--project", "a;b"],
                              ["deploy", "/tmp/x", "--project", "ok", "--hostname", "evil.test;include /etc"],
                              ["deploy", "/tmp/x", "--project", "ok", "--hostname", "a b"],
                              ["undeploy", "--project", "Robert'); DROP TABLE"]] {
                let result = try await spool.dz(arguments)
                #expect(result.status == 64, "\(arguments): \(result)")
            }
            #expect(spool.names("jobs", "new").isEmpty, "no job was submitted")
        }
    }
}
