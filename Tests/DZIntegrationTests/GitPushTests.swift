import DZSpool
import DZSystem
import Foundation
import Testing

extension Integration {
    /// Deploy on `git push`: `dz git init` makes a project's bare repository with a post-receive hook, and a real
    /// `git push` to it deploys the pushed commit through the real coordinator, agents, gunicorn and nginx, with the
    /// job's progress and the URL (or the failure) shown to the pusher.
    @Suite(.serialized) struct GitPushTests {
        @Test func aPushDeploysItsCommitAndTellsThePusherTheURLOrWhyNot() async throws {
            try await DeployTests.Cluster.with(appPorts: ["app1": "27000-27999"], appservers: ["app1"]) { cluster in
                let spool = cluster.spool
                let made = try await spool.dz(["git", "init", "--project", "hello", "--repos", spool.directory + "/repos",
                                               "--param", "db_engine=postgresql", "--param", "hostnames=" + DeployTests.hostname])
                #expect(made.status == 0, "\(made)")
                let remote = made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(remote == spool.directory + "/repos/hello.git")
                let hook = try FileSystem.status(remote + "/hooks/post-receive")
                #expect(hook.permissions & 0o777 == 0o755)

                // The first push deploys; what the pusher sees ends with the app's URL.
                let clock = ContinuousClock()
                var started = clock.now
                let first = try await push(cluster, to: remote, "main")
                let cold = clock.now - started
                #expect(first.status == 0, "\(first.output)")
                #expect(first.output.contains("remote: job "), "\(first.output)")
                #expect(first.output.contains("build_and_deploy of hello at "), "\(first.output)")
                #expect(first.output.contains("remote: http://\(DeployTests.hostname):\(cluster.nginx.port)/"), "\(first.output)")
                let (status, body) = await cluster.get("/")
                #expect(status == 200 && body.contains("Hello"), "\(status) \(body.prefix(300))")

                // A change pushed is deployed: the page shows it.
                let template = try String(contentsOfFile: cluster.repository + "/greetings/templates/greetings/index.html",
                                          encoding: .utf8)
                try cluster.write(template.replacingOccurrences(of: "<body>", with: "<body><p>pushed twice</p>"),
                                  to: "greetings/templates/greetings/index.html")
                try await cluster.commit("pushed twice")
                started = clock.now
                let second = try await push(cluster, to: remote, "main")
                print("git push to the URL printed: first (cold) \(cold), second (warm) \(clock.now - started)")
                #expect(second.status == 0 && second.output.contains("remote: http://\(DeployTests.hostname):"), "\(second.output)")
                let (_, changed) = await cluster.get("/")
                #expect(changed.contains("pushed twice"), "\(changed.prefix(300))")

                // Another branch deploys nothing, and says so.
                try await cluster.git(["checkout", "-q", "-b", "topic"])
                let topic = try await push(cluster, to: remote, "topic")
                #expect(topic.status == 0 && topic.output.contains("nothing to deploy"), "\(topic.output)")

                // A commit that is no Django project fails at check_repo: the pusher reads why; the app keeps serving.
                try await cluster.git(["checkout", "-q", "main"])
                try FileManager.default.removeItem(atPath: cluster.repository + "/manage.py")
                try FileManager.default.removeItem(atPath: cluster.repository + "/hello")
                try await cluster.commit("break it")
                let broken = try await push(cluster, to: remote, "main")
                #expect(broken.output.contains("not a Django project"), "\(broken.output)")
                #expect(!broken.output.contains("remote: http://"), "\(broken.output)")
                let (still, page) = await cluster.get("/")
                #expect(still == 200 && page.contains("pushed twice"), "\(still) \(page.prefix(300))")
            }
        }

        /// A key confined by `dz git shell` pushes to (and fetches from) its project's repository over a real ssh
        /// (Debian's openssh-server on a loopback port), through git-receive-pack and the repository's dz hook;
        /// another repository, a shell, a command or a path out of the repositories' directory is refused.
        @Test func anSSHKeyConfinedToItsProjectPushesThereAndNowhereElse() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            // The hook deploys only pushes to `production`: a push to main runs the whole chain up to it and stops.
            for project in ["hello", "other"] {
                let made = try await spool.dz(["git", "init", "--project", project, "--repos", spool.directory + "/repos",
                                               "--branch", "production"])
                #expect(made.status == 0, "\(made)")
            }
            // sshd starts after the last `spool.dz`: while it runs, Foundation's Process did not notice a dz
            // command's exit here (as with a daemonising bindfs; see DZProcess.kill).
            let sshd = try await SSHServer.start(in: spool.directory, dz: try DZBinary.path(), logDirectory: spool.logDirectory,
                                                 forcedCommand: "git shell --project hello --repos \(spool.directory)/repos")
            defer { sshd.stop() }
            let work = spool.directory + "/work"
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            try "hello\n".write(toFile: work + "/README", atomically: true, encoding: .utf8)
            let environment = ["PATH": "/usr/bin:/bin", "HOME": spool.directory, "GIT_CONFIG_NOSYSTEM": "1",
                               "GIT_SSH_COMMAND": sshd.clientCommand]
            func git(_ arguments: [String], in directory: String = work) async throws -> (Bool, String) {
                let outcome = try await Subprocess.run(["git", "-c", "user.email=t@dz.invalid", "-c", "user.name=t"] + arguments,
                                                       environment: environment, workingDirectory: directory, timeout: 120)
                return (outcome.succeeded, String(decoding: outcome.stdout + outcome.stderr, as: UTF8.self))
            }
            _ = try await git(["init", "-q", "--initial-branch=main"])
            _ = try await git(["add", "-A"])
            _ = try await git(["commit", "-qm", "one"])

            let pushed = try await git(["push", "root@127.0.0.1:hello.git", "main"])
            #expect(pushed.0, "\(pushed.1)")
            #expect(pushed.1.contains("remote: dz: nothing to deploy: the push did not change production"), "\(pushed.1)")
            let (_, local) = try await git(["rev-parse", "main"])
            let (_, remote) = try await git(["--git-dir", spool.directory + "/repos/hello.git", "rev-parse", "main"])
            #expect(!local.isEmpty && local == remote, "\(local) \(remote)")

            let cloned = try await git(["clone", "-q", "-b", "main", "root@127.0.0.1:/hello.git", spool.directory + "/clone"])
            #expect(cloned.0 && FileManager.default.fileExists(atPath: spool.directory + "/clone/README"), "\(cloned.1)")

            for target in ["root@127.0.0.1:other.git", "root@127.0.0.1:../repos/hello.git", "root@127.0.0.1:hello.git/../other.git"] {
                let refused = try await git(["push", target, "main"])
                #expect(!refused.0 && refused.1.contains("this key may only push to or fetch from hello.git"), "\(target): \(refused.1)")
            }
            let (_, other) = try await git(["--git-dir", spool.directory + "/repos/other.git", "rev-parse", "--verify", "-q", "main"])
            #expect(other.isEmpty, "other.git got \(other)")
            for command in [[], ["id"], ["git-receive-pack", "'hello.git'; id"], ["sh", "-c", "id"]] {
                let outcome = try await Subprocess.run(sshd.client + ["root@127.0.0.1"] + command, environment: environment,
                                                       input: [], timeout: 60)
                #expect(outcome.ending == .exited(64), "ssh \(command): \(outcome.ending) \(outcome.tail())")
                #expect(!outcome.stdoutText.contains("uid="), "ssh \(command) ran: \(outcome.stdoutText)")
            }
        }

        /// `git push <remote> <branch>` from the cluster's repository: its exit status and everything it printed.
        private func push(_ cluster: DeployTests.Cluster, to remote: String, _ branch: String) async throws
            -> (status: Int32, output: String)
        {
            let outcome = try await Subprocess.run(
                ["git", "push", remote, branch],
                environment: ["PATH": "/usr/bin:/bin", "HOME": cluster.spool.directory, "GIT_CONFIG_NOSYSTEM": "1"],
                workingDirectory: cluster.repository, timeout: 900)
            guard case .exited(let status) = outcome.ending else {
                throw SetupFailure("git push \(branch) \(outcome.ending): \(outcome.tail())")
            }
            return (status, String(decoding: outcome.stdout + outcome.stderr, as: UTF8.self))
        }
    }
}
