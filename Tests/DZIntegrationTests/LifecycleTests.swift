import DZSpool
import DZSystem
import DZTestSupport
import Foundation
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension Integration {
    /// The app's life after its first deploy, end to end on the same kind of cluster as `DeployTests` (real
    /// coordinator, builder, nginx, PostgreSQL, two appservers): releases, config, host names, scale, a rollback
    /// refused over a migration, then done under load once `dz manage` reversed it, the recovery of a lost
    /// appserver, then config unset, a host name removed and a scale down.
    @Suite(.serialized) struct LifecycleTests {
        typealias Cluster = DeployTests.Cluster

        @Test(.timeLimit(.minutes(30)))
        func configHostnamesScaleRollbackAndRecover() async throws {
            try await DeployTests.Cluster.with(appPorts: ["app1": "30000-30999", "app2": "31000-31999"], story)
        }

        func dz(_ cluster: Cluster, _ arguments: [String], stdin: [UInt8]? = nil, timeout: Double = 600) async throws
            -> CommandResult
        {
            try await cluster.spool.dz(arguments, stdin: stdin, timeout: timeout)
        }

        /// The job id a submitting command printed (`job <id>: ...`).
        func jobID(_ result: CommandResult) throws -> String {
            let line = result.stdout.split(separator: "\n").first { $0.hasPrefix("job ") } ?? ""
            guard let id = line.dropFirst(4).split(separator: ":").first, !id.isEmpty else {
                throw SetupFailure("no job id printed: \(result)")
            }
            return String(id)
        }

        func releases(_ cluster: Cluster) async throws -> [[String: JSONValue]] {
            let listed = try await dz(cluster, ["releases", "--project", "hello", "--json"])
            guard listed.status == 0 else { throw SetupFailure("dz releases: \(listed)") }
            return try listed.stdout.split(separator: "\n").compactMap {
                try JSONValue.parse(Array($0.utf8)).objectValue
            }
        }

        /// The upstream servers of the app's nginx site.
        func upstreams(_ cluster: Cluster) throws -> [String] {
            let site = try String(contentsOfFile: cluster.nginx.sitesDirectory + "/dz_hello.conf", encoding: .utf8)
            return site.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { $0.hasPrefix("server ") && $0.contains("max_fails") }
        }

        /// The worker processes of a gunicorn master.
        func workers(of pid: Int) -> Int {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8) else {
                return -1
            }
            return text.split(separator: " ").count
        }

        func story(_ cluster: Cluster) async throws {
            // 1. The first deploy, one instance: release 1.
            let first = try await dz(cluster, ["deploy", cluster.repository, "--project", "hello", "--hostname",
                                               DeployTests.hostname, "--instances", "1", "--workers", "1",
                                               "--db-engine", "postgresql"], timeout: 900)
            #expect(first.status == 0, "\(first)")
            var listed = try await releases(cluster)
            #expect(listed.count == 1)
            #expect(listed.first?["number"] == .int(1) && listed.first?["kind"] == .string("build_and_deploy"))
            #expect(listed.first?["result"] == .string("succeeded") && listed.first?["current"] == .bool(true))
            let (code, page) = await cluster.get()
            #expect(code == 200 && page.contains("Hello from dz"), "\(code) \(page.prefix(300))")

            // 2. Config: the app sees the new variable after the config job; a secret is masked by `dz config
            //    show` and appears in no audit line, no job request and no job record. The secret goes in on
            //    standard input, as dz(1) says secrets must.
            let secret = "tok-\(UUID().uuidString)"
            let set = try await dz(cluster, ["config", "set", "--project", "hello", "HELLO_GREETING=Howdy from config",
                                             "API_TOKEN"], stdin: Array((secret + "\n").utf8))
            #expect(set.status == 0, "\(set)")
            #expect(!set.stderr.contains("warning"), "\(set.stderr)")
            let (_, configured) = await cluster.get()
            #expect(configured.contains("Howdy from config"), "the new environment is live: \(configured.prefix(300))")
            let shown = try await dz(cluster, ["config", "show", "--project", "hello"])
            #expect(shown.stdout.contains("HELLO_GREETING=Howdy from config"), "\(shown)")
            #expect(shown.stdout.contains("API_TOKEN=***") && !shown.stdout.contains(secret), "\(shown)")
            let configShown = try await cluster.show(try jobID(set))
            #expect(!JSONValue.object(configShown).jsonText.contains(secret), "the job record holds no value")
            for directory in [cluster.spool.root + "/log", cluster.spool.root + "/jobs"] {
                let grep = try await Subprocess.run(["grep", "-rl", secret, directory], environment: [:], timeout: 30)
                #expect(grep.stdoutText.isEmpty, "the secret is in \(grep.stdoutText)")
            }
            listed = try await releases(cluster)
            #expect(listed.first?["kind"] == .string("config") && listed.first?["config_version"] == .int(1))

            // 3. A second host name: the app answers it through nginx.
            let added = try await dz(cluster, ["hostnames", "--project", "hello", "add", "www.hello.test"])
            #expect(added.status == 0, "\(added)")
            let (wwwCode, wwwPage) = await cluster.get(host: "www.hello.test")
            #expect(wwwCode == 200 && wwwPage.contains("Howdy from config"), "\(wwwCode) \(wwwPage.prefix(200))")
            let names = try await dz(cluster, ["hostnames", "--project", "hello"])
            #expect(names.stdout.split(separator: "\n") == [Substring(DeployTests.hostname), "www.hello.test"],
                    "\(names)")

            // 4. Scale to 2 instances with 2 workers each: both in the nginx upstream, each master with 2 workers.
            let scaled = try await dz(cluster, ["scale", "--project", "hello", "--instances", "2", "--workers", "2"])
            #expect(scaled.status == 0, "\(scaled)")
            let scaleShown = try await cluster.show(try jobID(scaled))
            let afterScale = try upstreams(cluster)
            #expect(afterScale.count == 2, "\(afterScale)")
            var instances: [(port: Int, pid: Int)] = []
            for step in DeployTests.steps(scaleShown).values where step["output"]?["pid"] != nil {
                if let port = step["output"]?["port"]?.intValue, let pid = step["output"]?["pid"]?.intValue {
                    instances.append((Int(port), Int(pid)))
                }
            }
            #expect(instances.count == 1, "one new instance was deployed")
            for instance in instances {
                #expect(workers(of: instance.pid) == 2, "the new instance starts with 2 workers")
            }
            let workerSteps = DeployTests.steps(scaleShown).filter { $0.key.hasPrefix("scale_workers") }
            #expect(!workerSteps.isEmpty && workerSteps.values.allSatisfy { $0["state"] == .string("succeeded") },
                    "\(workerSteps)")
            for upstream in try upstreams(cluster) {
                let port = upstream.split(separator: ":").last.flatMap { Int($0.prefix { $0.isNumber }) } ?? 0
                #expect(DeployTests.listening(port), "\(upstream) answers")
            }

            // 5. A release with a migration, then a rollback: refused while the database is ahead, done once
            //    allowed, with no failed request during the switch.
            try cluster.write("""
                from django.db import migrations


                class Migration(migrations.Migration):
                    dependencies = [("greetings", "0001_initial")]
                    operations = [migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)]

                """, to: "greetings/migrations/0002_noop.py")
            let template = "greetings/templates/greetings/index.html"
            let original = try String(contentsOfFile: cluster.repository + "/" + template, encoding: .utf8)
            try cluster.write(original.replacingOccurrences(of: "<h1>{{ greeting }}</h1>", with: "<h1>Version two</h1>"),
                              to: template)
            try await cluster.commit("v2 with a migration")
            let second = try await dz(cluster, ["deploy", cluster.repository, "--project", "hello"], timeout: 900)
            #expect(second.status == 0, "\(second)")
            let (_, v2) = await cluster.get()
            #expect(v2.contains("Version two"))
            #expect(try upstreams(cluster).count == 2, "the deploy kept the scale")

            let refused = try await dz(cluster, ["rollback", "--project", "hello"])
            #expect(refused.status == 1, "\(refused)")
            let refusedSteps = DeployTests.steps(try await cluster.show(try jobID(refused)))
            #expect(refusedSteps["post_deploy_hooks"]?["error_kind"] == .string("schema-mismatch"), "\(refusedSteps)")
            #expect(refusedSteps["post_deploy_hooks"]?["error"]?.stringValue?.contains("0002_noop") == true)
            #expect(refusedSteps["proxy_update"] == nil, "traffic never moved")
            let (_, stillV2) = await cluster.get()
            #expect(stillV2.contains("Version two"))

            // The documented way: reverse the migration on the current release, then roll back.
            let reversed = try await dz(cluster, ["manage", "--project", "hello", "--", "migrate", "greetings", "0001"])
            #expect(reversed.status == 0, "\(reversed)")
            #expect(reversed.stdout.contains("Unapplying greetings.0002_noop"), "\(reversed)")

            let client = DeployTests.LoadClient()
            let port = cluster.nginx.port
            let load = Task { await client.run(port: port) }
            let rolledBack = try await dz(cluster, ["rollback", "--project", "hello"])
            _ = await cluster.get()
            load.cancel()
            await load.value
            let (total, failures) = client.counts.withLock { ($0.total, $0.failures) }
            #expect(rolledBack.status == 0, "\(rolledBack)")
            #expect(rolledBack.stdout.contains("rolled back to release"), "\(rolledBack)")
            #expect(total > 10, "the client kept asking during the rollback: \(total) requests")
            #expect(failures.isEmpty, "\(failures.count) of \(total) requests failed: \(failures.prefix(5))")
            print("rollback under load: \(total) requests, \(failures.count) failed")
            let (_, back) = await cluster.get()
            #expect(back.contains("Howdy from config"), "the earlier code with today's config: \(back.prefix(200))")
            listed = try await releases(cluster)
            #expect(listed.first?["kind"] == .string("rollback") && listed.first?["current"] == .bool(true))
            #expect(listed.contains { $0["result"] == .string("failed") && $0["kind"] == .string("rollback") },
                    "the refused rollback is listed as failed")

            // 6. app2 is lost (its agent and its instances killed): `dz recover` brings the app back on app1 alone,
            //    and the stop it leaves in app2's queue stops what app2's supervisor relaunches when it returns.
            let state = try await dz(cluster, ["job", "show", "--json", try jobID(rolledBack)])
            let deployed = DeployTests.instances(try JSONValue.parse(Array(state.stdout.utf8)).objectValue ?? [:])
            let onApp2 = DeployTests.steps(try JSONValue.parse(Array(state.stdout.utf8)).objectValue ?? [:])
                .values.filter { $0["output"]?["appserver"] == .string("app2") && $0["output"]?["pid"] != nil }
            #expect(!onApp2.isEmpty, "placement spread the 2 instances over both appservers: \(deployed)")
            cluster.agents["app2"]?.send(SIGKILL)
            _ = await cluster.agents["app2"]?.waitForExit(timeout: 30)
            for step in onApp2 {
                if let pid = step["output"]?["pid"]?.intValue { Glibc.kill(pid_t(pid), SIGKILL) }
            }
            let recovering = try cluster.spool.start(["recover", "--appserver", "app2"], label: "recover")
            // Both upstreams on app1 (its ports are 30000-30999): the switch is done.
            let switched = await waitUntil(timeout: 300, every: 0.5) {
                let servers = (try? self.upstreams(cluster)) ?? []
                return servers.count == 2 && servers.allSatisfy { $0.contains(":30") }
            }
            #expect(switched, "the site lost app2's instance and got a new one on app1: \((try? upstreams(cluster)) ?? [])")
            try await cluster.restartAppserver("app2")
            #expect(await recovering.waitForExit(timeout: 300), "dz recover ended")
            #expect(recovering.exitStatus == 0, "\(recovering.standardOutput) \(recovering.standardError)")
            let (recoveredCode, recovered) = await cluster.get()
            #expect(recoveredCode == 200 && recovered.contains("Howdy from config"))
            for step in onApp2 {
                if let port = step["output"]?["port"]?.intValue {
                    // app2's agent starting, its supervisor's first round, and the waiting stop with its grace:
                    // 30 s was once short on a loaded machine.
                    let stopped = await waitUntil(timeout: 120, every: 0.5) { !DeployTests.listening(Int(port)) }
                    #expect(stopped, "app2's relaunched instance on port \(port) was stopped again")
                }
            }

            // 7. The way back: a variable unset (stored only), a host name removed (the release that puts both
            //    live), and a scale down to 1 instance (the other taken out of the site, then stopped).
            let unset = try await dz(cluster, ["config", "unset", "--project", "hello", "HELLO_GREETING", "--no-restart"])
            #expect(unset.status == 0 && unset.stdout.contains("unset HELLO_GREETING"), "\(unset)")
            let unsetShown = try await dz(cluster, ["config", "show", "--project", "hello"])
            #expect(!unsetShown.stdout.contains("HELLO_GREETING") && unsetShown.stdout.contains("API_TOKEN=***"),
                    "\(unsetShown)")
            let removed = try await dz(cluster, ["hostnames", "--project", "hello", "remove", "www.hello.test"])
            #expect(removed.status == 0, "\(removed)")
            let (goneCode, _) = await cluster.get(host: "www.hello.test")
            #expect(goneCode == 404, "the removed name reaches nginx's default server")
            let (_, plain) = await cluster.get()
            #expect(plain.contains("Hello from dz") && !plain.contains("Howdy"), "the unset variable is gone: \(plain.prefix(200))")
            let before = try upstreams(cluster)
            let down = try await dz(cluster, ["scale", "--project", "hello", "--instances", "1"])
            #expect(down.status == 0 && down.stdout.contains("stopped"), "\(down)")
            let after = try upstreams(cluster)
            #expect(before.count == 2 && after.count == 1, "\(before) -> \(after)")
            for upstream in before where !after.contains(upstream) {
                let port = upstream.split(separator: ":").last.flatMap { Int($0.prefix { $0.isNumber }) } ?? 0
                let stopped = await waitUntil(timeout: 30, every: 0.5) { !DeployTests.listening(port) }
                #expect(stopped, "the instance taken out of the site (\(upstream)) is stopped")
            }
            let (oneCode, _) = await cluster.get()
            #expect(oneCode == 200)
        }
    }
}
