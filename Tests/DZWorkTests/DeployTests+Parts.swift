import DZAgent
@testable import DZBuild
@testable import DZDeploy
import DZSpool
import DZSystem
@testable import DZWork
import Foundation
import Testing

extension DeployTests {
    /// The pieces of deploying that need no process: names, quoting, URLs, settings.
    @Suite struct Parts {
        @Test func appUserNamesFollowTheZoomdbsRuleAndAnythingElseIsRefused() throws {
            let hello = try ProjectID("hello")
            #expect(AppUser.expectedName(project: hello, uid: 70001) == "dz_hello")
            let long = try ProjectID(String(repeating: "a", count: 30))
            #expect(AppUser.expectedName(project: long, uid: 70002) == "dz70002", "no prefix cut short")
            let ok = try AppUser.Allocation(argument: .object(["name": .string("dz_hello"), "uid": .int(70001)]),
                                            project: hello)
            #expect(ok == AppUser.Allocation(name: "dz_hello", uid: 70001))
            for bad: JSONValue in [
                .object(["name": .string("dz_other"), "uid": .int(70001)]), .object(["name": .string("root"), "uid": .int(0)]),
                .object(["name": .string("dz_hello"), "uid": .int(0)]), .object(["name": .string("dz_hello"), "uid": .int(65534)]),
                .object(["name": .string("dz_hello"), "uid": .int(1 << 32)]), .object(["name": .string("dz_hello")]),
                .string("dz_hello"),
            ] {
                #expect(throws: TaskFailure.self, "\(bad.jsonText)") { try AppUser.Allocation(argument: bad, project: hello) }
            }
        }

        @Test func limitsComeFromTheAgentAndTheDeployAndAreChecked() throws {
            let workspace = Workspace(root: "/srv/dz")
            let settings = try AppServerSettings.resolve(memory: "2G", processes: "100", workspace: workspace,
                                                         environment: ["DZ_APP_CPU_WEIGHT": "50"])
            #expect(settings.limits == AppLimits(memory: 2 << 30, processes: 100, cpuWeight: 50))
            #expect(try AppServerSettings.resolve(workspace: workspace, environment: [:]).limits == .defaults)
            for (memory, processes, weight) in [("1K", nil, nil), ("lots", nil, nil), (nil, "8", nil), (nil, nil, "0")]
                as [(String?, String?, String?)]
            {
                #expect(throws: DeployError.self) {
                    try AppServerSettings.resolve(memory: memory, processes: processes, cpuWeight: weight,
                                                  workspace: workspace, environment: [:])
                }
            }
            let given = try AppLimits(argument: .object(["memory": .int(64 << 20), "processes": .int(20)]),
                                      defaults: .defaults)
            #expect(given == AppLimits(memory: 64 << 20, processes: 20, cpuWeight: 100))
            for bad: JSONValue in [.object(["memory": .int(1)]), .object(["processes": .string("x")]),
                                   .object(["swap": .int(1)]), .string("1G")] {
                #expect(throws: TaskFailure.self, "\(bad.jsonText)") { try AppLimits(argument: bad, defaults: .defaults) }
            }
        }

        @Test func theLimitsModeIsDetectedFromTheMounts() {
            let v2 = MountTable(mountinfo: "30 1 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n")
            #expect(AppCgroups.detect(mounts: v2, controllers: { _ in ["cpu", "memory", "pids", "io"] })
                == .v2(mount: "/sys/fs/cgroup", cpu: true))
            let hybrid = MountTable(mountinfo: """
                31 30 0:27 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
                32 30 0:28 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
                33 30 0:29 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
                34 30 0:30 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
                """)
            #expect(AppCgroups.detect(mounts: hybrid, controllers: { _ in [] })
                == .v1(memory: "/sys/fs/cgroup/memory", pids: "/sys/fs/cgroup/pids", cpu: "/sys/fs/cgroup/cpu"),
                "a unified mount without controllers is passed over")
            let none = MountTable(mountinfo: "22 1 0:5 / /proc rw - proc proc rw\n")
            #expect(AppCgroups.detect(mounts: none, controllers: { _ in [] }) == .rlimits)
            #expect(AppCgroups.detect(mounts: v2, controllers: { _ in ["cpu"] }) == .rlimits, "v2 without memory")
        }

        @Test func allowedPythonsAreNamedByVersionAndChecked() throws {
            let pythons = try AllowedPythons.parse("/usr/bin/python3.11, /opt/py/bin/python3.12")
            #expect(pythons.paths == ["/usr/bin/python3.11", "/opt/py/bin/python3.12"])
            for bad in ["python3.11", "/usr/bin/python3", "/usr/bin/../bin/python3.11", "/usr/bin/python3.11-config", ""] {
                #expect(throws: AllowedPythons.ListError.self, "\(bad)") { try AllowedPythons.parse(bad) }
            }
            #expect(AllowedPythons.installation(of: "/opt/py/bin/python3.12") == "/opt/py")
            #expect(throws: DeployError.self) { try AllowedPythons(paths: ["/usr/bin/python3.11"]).interpreter(forVersion: "3.9.2") }
            #expect(throws: DeployError.self) { try AllowedPythons(paths: ["/usr/bin/python3.11"]).interpreter(forVersion: nil) }
            if FileSystem.exists("/usr/bin/python3.11") {
                #expect(try AllowedPythons(paths: ["/usr/bin/python3.11"]).interpreter(forVersion: "3.11.2")
                    == "/usr/bin/python3.11")
            }
        }

        @Test func subordinateIdRangesAreRecognised() {
            let text = "alice:100000:65536\nbob:165536:65536\nbroken line\n"
            #expect(AppUser.subordinateOwner(of: 100000, inText: text) == "alice")
            #expect(AppUser.subordinateOwner(of: 231071, inText: text) == "bob")
            #expect(AppUser.subordinateOwner(of: 231072, inText: text) == nil)
            #expect(AppUser.subordinateOwner(of: 70000, inText: text) == nil)
        }

        @Test func procfileCommandsRunAsOneShellCommandLine() throws {
            let procfile = "web: gunicorn hello.wsgi\n# release: no\r\nrelease:  yes \"yes\" | python manage.py migrate \n"
            let release = try #require(try ProcfileCommand.find("release", in: procfile))
            #expect(release.line == "yes \"yes\" | python manage.py migrate")
            #expect(release.argv == ["/bin/sh", "-c", "yes \"yes\" | python manage.py migrate"])
            #expect(try ProcfileCommand.find("release", in: "web: x\n") == nil)
            #expect(throws: ProcfileCommand.Failure.empty("release")) { try ProcfileCommand.find("release", in: "release:   ") }
            #expect(throws: ProcfileCommand.Failure.controlCharacter("release")) {
                try ProcfileCommand(process: "release", line: "echo a\u{0}b")
            }
            #expect(throws: ProcfileCommand.Failure.tooLong("release")) {
                try ProcfileCommand(process: "release", line: String(repeating: "x", count: 4097))
            }
        }

        @Test func databaseURLsEncodeThePasswordAndKeepSQLitePathsAbsolute() throws {
            let project = try ProjectID("hello")
            let postgres = try AppDatabase(deployArgument: .object([
                "engine": .string("postgresql"), "host": .string("db.internal"), "port": .int(5433),
                "name": .string("app_hello"), "user": .string("app_hello"), "password": .string("p@ss:w/rd%"),
            ]), project: project)
            #expect(postgres.url == "postgresql://app_hello:p%40ss%3Aw%2Frd%25@db.internal:5433/app_hello")
            let sqlite = try AppDatabase(deployArgument: .object([
                "engine": .string("sqlite"), "name": .string("/var/lib/dz/apps/hello/db.sqlite3"),
            ]), project: project)
            #expect(sqlite.url == "sqlite:////var/lib/dz/apps/hello/db.sqlite3")
            let environment = RuntimeEnvironment(bundleDirectory: "/a/b", database: postgres,
                                                 hostnames: [try Hostname("x.example.com")], secretKey: "k3y-value",
                                                 extra: ["GREETING": "hi", "SENTRY_DSN": "https://k3y@sentry.example/1",
                                                         "MODE": "production-eu"])
            #expect(environment.variables["PATH"] == "/a/b/venv/bin:/usr/local/bin:/usr/bin:/bin")
            #expect(environment.variables["PYTHONUNBUFFERED"] == "1", "what the app prints is not held back")
            #expect(environment.variables["DJANGO_SETTINGS_MODULE"] == "dz_settings")
            let masked = Redaction.mask(environment.text, secrets: environment.secrets)
            #expect(!masked.contains("p@ss") && !masked.contains("p%40ss") && !masked.contains("k3y-value"))
            #expect(masked.contains("GREETING=hi"), "a short plain value stays readable")
            // Every config value of some length is masked, secret-looking name or not; dz's own entries are not.
            #expect(!masked.contains("sentry.example") && !masked.contains("production-eu"), "\(masked)")
            #expect(masked.contains("DZ_HOSTNAMES=x.example.com") && masked.contains("LANG=C.UTF-8"))
            #expect(RuntimeEnvironment(variables: ["A": "1"]).forProcess["PYTHONUNBUFFERED"] == "1",
                    "an instance an older dz started gets it too")
        }

        @Test func theErrorLogTailQuotesTheLastTracebackFromItsRecord() {
            let frames = (1...20).map { "  File \"/app/x.py\", line \($0), in f\($0)\n    call\($0)()" }
            let log = "[t] [1] [INFO] Booting worker\nearlier line\n[t] [7] [ERROR] django.request: Internal Server Error: /\n"
                + "Traceback (most recent call last):\n" + frames.joined(separator: "\n")
                + "\nshop.models.Order.DoesNotExist: Order matching query does not exist.\n"
            let tail = InstanceLauncher.lastError(log, lines: 20)
            #expect(tail.hasPrefix("[t] [7] [ERROR] django.request: Internal Server Error: /\nTraceback"), "\(tail)")
            #expect(tail.hasSuffix("DoesNotExist: Order matching query does not exist.\n"))
            #expect(!tail.contains("earlier line"))
            // A traceback further back than three times the lines asked: the last lines as they are.
            let long = InstanceLauncher.lastError(log, lines: 5)
            #expect(long.split(separator: "\n", omittingEmptySubsequences: false).count == 5 && !long.contains("Traceback"))
            #expect(InstanceLauncher.lastError("a\nb\nc", lines: 2) == "b\nc")
            // Two short tracebacks within the lines asked: only the last, from its record.
            let twice = "[t] [7] [ERROR] x: one\nTraceback (most recent call last):\n  f()\nKeyError: 1\n"
                + "[t] [7] [ERROR] x: two\nTraceback (most recent call last):\n  g()\nKeyError: 2\n"
            #expect(InstanceLauncher.lastError(twice, lines: 30)
                    == "[t] [7] [ERROR] x: two\nTraceback (most recent call last):\n  g()\nKeyError: 2\n")
        }

        @Test func aRewrittenRuntimeFileCannotReachTheLoader() {
            let parsed = RuntimeEnvironment(parsing: Array("A=1\nLD_PRELOAD=/x.so\nGCONV_PATH=/x\nlower=1\nB=x=y\n".utf8))
            #expect(parsed.variables == ["A": "1", "B": "x=y"])
        }

        @Test func settingsFallBackToTheEnvironmentAndCheckTheirValues() throws {
            let workspace = Workspace(root: "/srv/dz")
            let defaults = try AppServerSettings.resolve(workspace: workspace, environment: [:])
            #expect(defaults.appsRoot == "/srv/dz/apps" && defaults.instancesRoot == "/srv/dz/instances")
            #expect(defaults.address == "127.0.0.1" && defaults.ports == 10000...19999 && defaults.isolation == .auto)
            let fromEnvironment = try AppServerSettings.resolve(
                workspace: workspace, environment: ["DZ_APPS_ROOT": "/apps", "DZ_APP_ADDRESS": "::1",
                                                    "DZ_APP_PORTS": "2000-2010", "DZ_ISOLATION": "none"])
            #expect(fromEnvironment.appsRoot == "/apps" && fromEnvironment.address == "::1")
            #expect(fromEnvironment.ports == 2000...2010 && fromEnvironment.isolation == .none)
            let flags = try AppServerSettings.resolve(address: "10.0.0.5", ports: "3000", workspace: workspace,
                                                      environment: ["DZ_APP_ADDRESS": "::1"])
            #expect(flags.address == "10.0.0.5" && flags.ports == 3000...3000)
            for (address, ports, isolation) in [("localhost", nil, nil), (nil, "20-10", nil), (nil, "1-70000", nil),
                                                (nil, nil, "chroot")] as [(String?, String?, String?)] {
                #expect(throws: DeployError.self) {
                    try AppServerSettings.resolve(address: address, ports: ports, isolation: isolation,
                                                  workspace: workspace, environment: [:])
                }
            }
        }

        @Test func theSandboxBindsTheAppAndHidesTheRest() throws {
            let user = AppUser(name: "dz_hello", uid: 990, gid: 990, switches: true)
            let sandbox = Sandbox(isolation: .bubblewrap, user: user, appDirectory: "/srv/dz/apps/hello",
                                  readOnly: ["/opt/python/3.11", "/usr/lib/python3"])
            let command = sandbox.command(["/srv/dz/apps/hello/b/venv/bin/python", "-V"])
            let text = command.joined(separator: " ")
            #expect(text.contains("--ro-bind /opt/python/3.11 /opt/python/3.11"))
            #expect(!text.contains("/usr/lib/python3"), "already shown with /usr")
            #expect(text.contains("--perms 0711 --dir /srv --perms 0711 --dir /srv/dz --perms 0711 --dir /srv/dz/apps "
                + "--bind /srv/dz/apps/hello /srv/dz/apps/hello"))
            #expect(text.contains("--tmpfs /tmp") && !text.contains("--unshare-pid") && !text.contains("--die-with-parent"))
            #expect(text.hasSuffix("-- /usr/bin/setpriv --reuid=990 --regid=990 --clear-groups --no-new-privs -- "
                + "/srv/dz/apps/hello/b/venv/bin/python -V"))
            #expect(!text.contains("--ro-bind /etc /etc"), "not the whole of /etc")
            #expect(text.contains("--perms 0755 --dir /etc") && text.contains("--ro-bind-try /etc/resolv.conf /etc/resolv.conf"))
            #expect(!command.contains { $0.hasPrefix("/etc/dz") || $0 == "/etc/shadow" || $0 == "/etc/passwd" })
            let accounts = Sandbox(isolation: .bubblewrap, user: user, appDirectory: "/srv/dz/apps/hello",
                                   accounts: "/srv/dz/instances/hello/.etc")
            #expect(accounts.command(["/bin/true"]).joined(separator: " ")
                .contains("--ro-bind /srv/dz/instances/hello/.etc/passwd /etc/passwd"))
            let files = Sandbox.accountFiles(user: user, project: "hello")
            #expect(files.passwd == "root:x:0:0:root:/root:/usr/sbin/nologin\n"
                + "dz_hello:x:990:990:dz app hello:/nonexistent:/usr/sbin/nologin\n"
                + "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
            #expect(files.group == "root:x:0:\ndz_hello:x:990:\nnogroup:x:65534:\n")
            let plain = Sandbox(isolation: .none, user: AppUser(name: "me", uid: 1000, gid: 1000, switches: false),
                                appDirectory: "/a")
            #expect(plain.command(["/bin/true"]) == ["/bin/true"])
        }
    }
}
