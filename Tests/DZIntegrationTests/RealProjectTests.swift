import DZSpool
import DZSystem
import DZTestSupport
import Foundation
import Testing

extension Integration {
    /// Projects in the shapes real ones have, deployed as they are through a real coordinator, builder, appserver,
    /// nginx and PostgreSQL: each deploys, or fails in seconds with the sentence that says why.
    @Suite(.serialized) struct RealProjectTests {
        @Test(.timeLimit(.minutes(30)), .enabled(if: getuid() == 0))
        func aPythonTheHostsLackAPipConflictAndAnHTTPSRedirectFailWithTheirCauseAndAFittingPythonDeploys() async throws {
            try await DeployTests.Cluster.with(appPorts: ["app1": "25000-25999"], appservers: ["app1"]) { cluster in
                // 1. A .python-version the host lacks: refused at check_repo, before any build.
                let missing = ["3.13", "3.12", "3.10", "3.9"].first { !FileSystem.exists("/usr/bin/python" + $0) } ?? "3.99"
                try cluster.write(missing + "\n", to: ".python-version")
                try await cluster.commit("ask for Python \(missing)")
                var started = Timestamp.now()
                let (pythonJob, python) = try await cluster.deploy()
                let pythonSeconds = Timestamp.now() - started
                print("dz deploy of a project asking for Python \(missing) (\(String(format: "%.1f", pythonSeconds)) s):\n"
                      + python.stdout)
                #expect(python.status == 1, "\(python)")
                #expect(python.stdout.contains("the project asks for Python \(missing) (from .python-version) and this "
                    + "build host offers "), "\(python.stdout)")
                #expect(python.stdout.contains("dz agent --pythons PATH"), "how to add one: \(python.stdout)")
                let pythonSteps = DeployTests.steps(try await cluster.show(pythonJob))
                #expect(pythonSteps["check_repo"]?["error_kind"] == .string("python-unavailable"), "\(pythonSteps)")
                #expect(pythonSteps["build_bundle"]?["state"] != .string("succeeded"), "nothing was built")

                // 2. A pip conflict: the cause (the packages and their constraints) and the log's path.
                try FileSystem.unlink(cluster.repository + "/.python-version")
                try cluster.write("Django==4.2.7\ngunicorn\nsqlparse==0.2.4\n", to: "requirements.txt")
                try await cluster.commit("conflicting pins")
                started = Timestamp.now()
                let (pipJob, pip) = try await cluster.deploy()
                let pipSeconds = Timestamp.now() - started
                print("dz deploy of a project with a pip conflict (\(String(format: "%.1f", pipSeconds)) s):\n" + pip.stdout)
                #expect(pip.status == 1, "\(pip)")
                #expect(pip.stdout.contains("The user requested sqlparse==0.2.4"), "\(pip.stdout)")
                #expect(pip.stdout.contains("depends on sqlparse>=0.3.1"), "\(pip.stdout)")
                let pipSteps = DeployTests.steps(try await cluster.show(pipJob))
                let error = pipSteps["build_bundle"]?["error"]?.stringValue ?? ""
                let log = try #require(error.split(separator: "\n").last.flatMap { line in
                    line.range(of: "pip's whole output: ").map { String(line[$0.upperBound...].split(separator: " ")[0]) }
                }, "\(error)")
                #expect((try? String(contentsOfFile: log, encoding: .utf8))?.contains("ResolutionImpossible") == true,
                        "the whole log is kept at \(log)")

                // 3. A Python the host has, as a runtime.txt names it: built with it and deployed.
                try cluster.write("Django>=4.2,<5.0\ngunicorn\n", to: "requirements.txt")
                let names: [String] = (try? FileSystem.names(in: "/usr/bin")) ?? []
                var minors: [Int] = []
                for name in names where name.hasPrefix("python3.") {
                    if let minor = Int(name.dropFirst("python3.".count)) { minors.append(minor) }
                }
                let version = "3.\(try #require(minors.max()))"
                try cluster.write("python-\(version).1\n", to: "runtime.txt")
                try await cluster.commit("a Python the host has")
                let (goodJob, good) = try await cluster.deploy()
                #expect(good.status == 0, "\(good)")
                let shown = try await cluster.show(goodJob)
                #expect(shown["result"]?["python_version"]?.stringValue?.hasPrefix(version + ".") == true, "\(shown)")
                #expect(await cluster.get().0 == 200)

                // 4. Production settings that force HTTPS behind dz's HTTP proxy: not healthy, with the setting named;
                //    the release before keeps serving.
                let settings = cluster.repository + "/hello/settings.py"
                try (try String(contentsOfFile: settings, encoding: .utf8) + "\nSECURE_SSL_REDIRECT = True\n")
                    .write(toFile: settings, atomically: true, encoding: .utf8)
                try await cluster.commit("force HTTPS")
                let (_, redirecting) = try await cluster.deploy()
                print("dz deploy of a project that redirects to HTTPS:\n" + redirecting.stdout)
                #expect(redirecting.status == 1, "\(redirecting)")
                #expect(redirecting.stdout.contains("answered 301 -> https://\(DeployTests.hostname)/"), "\(redirecting.stdout)")
                #expect(redirecting.stdout.contains("SECURE_SSL_REDIRECT"), "\(redirecting.stdout)")
                #expect(await cluster.get().0 == 200, "the release before still serves")

                // 5. A Procfile with a piped release line and a uwsgi web line: the release line runs as Heroku runs
                //    it (/bin/sh -c, the venv's python and scripts first on PATH); a warning says gunicorn serves.
                try (try String(contentsOfFile: settings, encoding: .utf8))
                    .replacingOccurrences(of: "\nSECURE_SSL_REDIRECT = True\n", with: "\n")
                    .write(toFile: settings, atomically: true, encoding: .utf8)
                try cluster.write("web: uwsgi --http :8000 --module hello.wsgi\nrelease: yes \"yes\" | python manage.py "
                                  + "migrate && echo \"release ran with Django $(django-admin --version)\"\n", to: "Procfile")
                try await cluster.commit("a Heroku Procfile")
                let (procfileJob, procfile) = try await cluster.deploy()
                print("dz deploy of a project with a piped release line and a uwsgi web line:\n" + procfile.stdout)
                #expect(procfile.status == 0, "\(procfile)")
                #expect(procfile.stdout.contains("warning: the Procfile's web: line (uwsgi --http :8000 --module "
                    + "hello.wsgi) is not gunicorn"), "\(procfile.stdout)")
                let procfileShown = try await cluster.show(procfileJob)
                let hooks = DeployTests.steps(procfileShown)["post_deploy_hooks"]?["output"]?.objectValue ?? [:]
                #expect(hooks["release"]?.stringValue?.hasPrefix("yes \"yes\" | python manage.py migrate") == true, "\(hooks)")
                #expect(hooks["output"]?.stringValue?.contains("release ran with Django 4.2.") == true,
                        "the pipe, the venv's python and its django-admin script ran: \(hooks)")
                #expect(await cluster.get().0 == 200)

                // 6. A release line the shell cannot parse: refused at check_repo, before the build; deployed with
                //    --param release=false.
                try cluster.write("release: echo 'unterminated\n", to: "Procfile")
                try await cluster.commit("a malformed release line")
                let (refusedJob, refused) = try await cluster.deploy()
                #expect(refused.status == 1, "\(refused)")
                #expect(refused.stdout.contains("step check_repo failed: procfile: the Procfile's release command is not "
                    + "a valid shell command line (/bin/sh -n: "), "\(refused.stdout)")
                let refusedSteps = DeployTests.steps(try await cluster.show(refusedJob))
                #expect(refusedSteps["check_repo"]?["error_kind"] == .string("procfile"), "\(refusedSteps)")
                #expect(refusedSteps["build_bundle"]?["state"] != .string("succeeded"), "nothing was built")
                let (_, withoutRelease) = try await cluster.deploy(["--param", "release=false"])
                #expect(withoutRelease.status == 0, "\(withoutRelease)")

                // 7. zoombuild.cfg's procfile_release runs instead of the Procfile's line; set empty, none runs.
                let proposal = try #require(DeployTests.steps(procfileShown)["check_repo"]?["output"]?
                    .objectValue?["zoombuild_cfg"]?.stringValue, "\(procfileShown)")
                let kept = proposal.split(separator: "\n", omittingEmptySubsequences: false)
                    .filter { !$0.hasPrefix("procfile_release") && !$0.hasPrefix("# procfile_release") }
                for (release, expected) in [("procfile_release = echo \"configured release ran\" | tr a-z A-Z",
                                             "CONFIGURED RELEASE RAN"), ("procfile_release =", nil)] {
                    let config = cluster.repository + "/../zoombuild-\(expected == nil ? "empty" : "set").cfg"
                    try (kept.joined(separator: "\n") + "\n" + release + "\n")
                        .write(toFile: config, atomically: true, encoding: .utf8)
                    let (configuredJob, configured) = try await cluster.deploy(["--config", config])
                    #expect(configured.status == 0, "\(release): \(configured)")
                    let output = DeployTests.steps(try await cluster.show(configuredJob))["post_deploy_hooks"]?["output"]?
                        .objectValue ?? [:]
                    if let expected {
                        #expect(output["output"]?.stringValue?.contains(expected) == true, "\(output)")
                    } else {
                        #expect(output["release"] == .null, "an empty procfile_release runs none: \(output)")
                    }
                }
                #expect(await cluster.get().0 == 200)
            }
        }
    }
}
