import DZSpool
import DZSystem
import DZTestSupport
import Foundation
import Testing

extension Integration {
    /// `dz manage` end to end: examples/hello deployed by `dz deploy` on a real cluster (DeployTests.Cluster, with
    /// ports of its own), then its `greet` management command and a `--shell` script run on a live instance through
    /// the spool; the command's output and exit status reach the job's log and dz's exit status.
    @Suite(.serialized) struct ManageTests {
        @Test(.timeLimit(.minutes(20)))
        func manageOutputAndExitCodeReachTheJob() async throws {
            try await DeployTests.Cluster.with(appPorts: ["app1": "25000-25999", "app2": "26000-26999"], story)
        }

        /// `dz job <subcommand> --spool <spool> <arguments>`.
        func job(_ cluster: DeployTests.Cluster, _ subcommand: String, _ arguments: [String]) async throws
            -> CommandResult
        {
            try await cluster.spool.dz(["job", subcommand] + arguments)
        }

        /// The id of the newest job.
        func newestJob(_ cluster: DeployTests.Cluster) async throws -> String {
            let listed = try await job(cluster, "list", ["--json", "--limit", "1"])
            let jobs = try JSONValue.parse(Array(listed.stdout.utf8)).arrayValue ?? []
            return try #require(jobs.first?["id"]?.stringValue, "\(listed)")
        }

        func story(_ cluster: DeployTests.Cluster) async throws {
            let (deployJob, deployed) = try await cluster.deploy()
            try #require(deployed.status == 0, "\(deployed)")

            // 1. A management command: its output on dz's output, its exit status as dz's, its lines in the log.
            let greet = try await cluster.spool.dz(["manage", "--project", "hello", "--", "greet", "--exit-code", "3"],
                                                   timeout: 300)
            #expect(greet.status == 3, "\(greet)")
            #expect(greet.stdout == "greetings: 0\n", "only the command's output on standard output: \(greet)")
            #expect(greet.stderr.contains("greet: done"), "\(greet)")
            let greetJob = try await newestJob(cluster)
            let shown = try await cluster.show(greetJob)
            #expect(shown["kind"] == .string("manage") && shown["state"] == .string("failed"), "\(shown)")
            let step = try #require(DeployTests.steps(shown)["managepy"])
            #expect(step["error_kind"] == .string("exit-status"), "\(step)")
            #expect(step["error"]?.stringValue?.contains("exited with status 3") == true, "\(step)")
            #expect(step["output"]?["exit_code"] == .int(3), "the output stays with the failed step: \(step)")
            #expect(step["queue"]?.stringValue?.hasPrefix("appserver_app") == true)
            let log = try await job(cluster, "log", [greetJob])
            #expect(log.stdout.contains("info stdout: greetings: 0"), "\(log)")
            #expect(log.stdout.contains("warn stderr: greet: done"), "\(log)")
            #expect(log.stdout.contains("exited with status 3"), "\(log)")

            // 2. --shell: Python on standard input, Django set up, on the instance asked for.
            let instance = try #require(DeployTests.instances(try await cluster.show(deployJob)).last?.instance)
            let shell = try await cluster.spool.dz(["manage", "--project", "hello", "--instance", instance, "--shell"],
                                                   stdin: Array(("from greetings.models import Greeting\n"
                                                       + "print(6*7, Greeting.objects.count())\n").utf8),
                                                   timeout: 300)
            #expect(shell.status == 0, "\(shell)")
            #expect(shell.stdout == "42 0\n", "\(shell)")
            let shellShown = try await cluster.show(try await newestJob(cluster))
            #expect(shellShown["state"] == .string("succeeded"))
            #expect(DeployTests.steps(shellShown)["managepy"]?["output"]?["instance"] == .string(instance))
            let raised = try await cluster.spool.dz(["manage", "--project", "hello", "--shell"],
                                                    stdin: Array("1/0\n".utf8), timeout: 300)
            #expect(raised.status == 1 && raised.stderr.contains("ZeroDivisionError"), "\(raised)")

            // 3. dz's own failures keep dz's exit statuses.
            let missing = try await cluster.spool.dz(["manage", "--project", "hello", "--instance", "nope.app1.1",
                                                      "--", "check"], timeout: 120)
            #expect(missing.status == 1 && missing.stderr.contains("no running instance"), "\(missing)")
            for arguments in [["manage", "--project", "hello"], ["manage", "--project", "../x", "--", "check"],
                              ["manage", "--project", "hello", "--shell", "--", "check"],
                              ["manage", "--project", "hello", "--instance", "a/b", "--", "check"],
                              ["manage", "--project", "hello", "greet"],
                              ["manage", "--project", "hello", "--timeout", "1", "--", "check"]] {
                let refused = try await cluster.spool.dz(arguments)
                #expect(refused.status == 64, "\(arguments): \(refused)")
            }
        }
    }
}
