import DZSpool
import DZSystem
import DZTestSupport
import Foundation
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension Integration {
    /// `dz logs` end to end: examples/hello deployed on the DeployTests cluster (real coordinator, agents, nginx,
    /// PostgreSQL, gunicorn), a page requested through nginx, then the line the app printed and nginx's access line
    /// read back through read_logs tasks on the appservers and the proxy; `-f` shows a later request.
    @Suite(.serialized) struct LogsTests {
        typealias Cluster = DeployTests.Cluster

        @Test(.timeLimit(.minutes(20)))
        func logsShowALineTheAppPrintedAndTheSiteAccessLog() async throws {
            try await DeployTests.Cluster.with(appPorts: ["app1": "23000-23999", "app2": "24000-24999"], story)
        }

        func story(_ cluster: Cluster) async throws {
            let (job, deployed) = try await cluster.deploy()
            #expect(deployed.status == 0, "\(deployed)")
            let instances = DeployTests.instances(try await cluster.show(job))
            #expect(instances.count == 2)
            let (code, page) = await cluster.get("/?from-logs-test")
            #expect(code == 200 && page.contains("Hello from dz"), "\(code): \(page.prefix(200))")

            // 1. Every log of the project: the app's printed line (gunicorn --capture-output puts it in the error
            //    log), gunicorn's access lines, and nginx's line of the request above.
            let started = ContinuousClock.now
            let logs = try await cluster.spool.dz(["logs", "--project", "hello"], timeout: 120)
            #expect(logs.status == 0, "\(logs)")
            print("dz logs took \(ContinuousClock.now - started), printed \(logs.stdout.utf8.count) bytes; its end:\n"
                + logs.stdout.suffix(1500))
            let lines = logs.stdout.split(separator: "\n").map(String.init)
            let printed = lines.filter { $0.contains(" error | hello: served the index, 0 greetings") }
            #expect(!printed.isEmpty, "the line the view printed: \(logs)")
            #expect(printed.allSatisfy { line in
                instances.contains { line.hasPrefix(($0.instance.split(separator: ".").dropLast(2).last.map(String.init) ?? "")
                    + "/" + $0.instance + " error | ") }
            }, "labelled <appserver>/<instance> error: \(printed)")
            #expect(lines.contains { $0.hasPrefix("proxy/hello access | ") && $0.contains("GET /?from-logs-test ")
                && $0.contains("dz-tests") }, "nginx's access line of the request: \(logs)")
            #expect(lines.contains { $0.contains(" access | ") && !$0.hasPrefix("proxy/") },
                    "gunicorn's access log too: \(logs)")
            #expect(!logs.stdout.contains("job J"), "only log lines on standard output")

            // 2. One instance, one line of each of its files, without the site's log.
            let one = instances[0].instance
            let single = try await cluster.spool.dz(["logs", "--project", "hello", "--instance", one, "-n", "1"],
                                                   timeout: 120)
            #expect(single.status == 0, "\(single)")
            let singleLines = single.stdout.split(separator: "\n")
            #expect(singleLines.count <= 2 && !singleLines.isEmpty, "\(single)")
            #expect(singleLines.allSatisfy { $0.contains("/" + one + " ") }, "\(single)")

            // 3. An unknown instance is a clear failure; a hostile one never reaches a task.
            let unknown = try await cluster.spool.dz(["logs", "--project", "hello", "--instance", "nope.app1.1"],
                                                    timeout: 120)
            #expect(unknown.status == 1, "\(unknown)")
            #expect(unknown.stderr.contains("no active instance nope.app1.1"), "\(unknown)")
            let hostile = try await cluster.spool.dz(["logs", "--project", "hello", "--instance", "../../etc/passwd"])
            #expect(hostile.status == 64, "\(hostile)")

            // 4. An appserver whose agent is down: after --timeout, the other hosts' lines, the silent queue named,
            //    exit 75; the job is cancelled, so the agent, back, does not run its read.
            guard let app2 = cluster.agents["app2"] else { throw SetupFailure("no agent app2") }
            app2.send(SIGTERM)
            #expect(await app2.waitForExit(timeout: 120), "agent app2 stops")
            let silent = try await cluster.spool.dz(["logs", "--project", "hello", "--timeout", "3s"], timeout: 120)
            #expect(silent.status == 75, "\(silent)")
            #expect(silent.stderr.contains("no answer from appserver_app2"), "\(silent)")
            #expect(silent.stdout.contains("app1/") && silent.stdout.contains("proxy/hello access | "), "\(silent)")
            #expect(!silent.stdout.contains("app2/"), "\(silent)")
            try await cluster.restartAppserver("app2") // already stopped: started again with its settings
            let back = try await cluster.spool.dz(["logs", "--project", "hello"], timeout: 120)
            #expect(back.status == 0 && back.stdout.contains("app2/"), "\(back)")
            let cancelled = cluster.spool.records(event: "cancel-requested")
                .filter { $0["reason"] == "dz logs gave up waiting" }.compactMap { $0["job"] }
            #expect(cancelled.count == 1, "the silent round's job was cancelled: \(cancelled)")
            #expect(!cluster.spool.records(event: "finished").contains {
                $0["job"] == cancelled.first && $0["queue"] == "appserver_app2" && $0["status"] == "succeeded"
            }, "the returning agent did not run the cancelled read")

            // 5. -f: a request made while it follows shows up, once; SIGTERM ends it with status 0.
            let follower = try cluster.spool.start(["logs", "--project", "hello", "-f", "--interval", "500ms"],
                                                   label: "logs-follow")
            let caughtUp = await waitUntil(timeout: 120, every: 0.2) {
                follower.standardOutput.contains("GET /?from-logs-test ") || !follower.isRunning
            }
            #expect(caughtUp && follower.isRunning, "the first round printed the tail: \(follower.errorTail)")
            let (followCode, _) = await cluster.get("/?while-following")
            #expect(followCode == 200)
            let followed = await waitUntil(timeout: 120, every: 0.2) {
                follower.standardOutput.contains("GET /?while-following ")
            }
            #expect(followed, "the new request came through -f: \(follower.standardOutput.suffix(2000))")
            // Two more rounds: the line is not printed again.
            func reads() -> Int { cluster.spool.records(event: "finished").filter { $0["name"] == "read_logs" }.count }
            let before = reads()
            _ = await waitUntil(timeout: 30, every: 0.2) { reads() >= before + 6 }
            // nginx's access log and the serving instance's gunicorn access log each have it once.
            let shown = follower.standardOutput.split(separator: "\n").filter { $0.contains("GET /?while-following ") }
            #expect(shown.filter { $0.hasPrefix("proxy/hello access | ") }.count == 1
                && shown.filter { !$0.hasPrefix("proxy/") }.count == 1,
                "printed once each, not again from the same offset: \(shown)")
            follower.send(SIGTERM)
            #expect(await follower.waitForExit(timeout: 60), "SIGTERM ends dz logs -f")
            #expect(follower.exitStatus == 0, "\(follower.ending): \(follower.errorTail)")
        }
    }
}
