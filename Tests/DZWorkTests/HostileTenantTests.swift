#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DZAgent
import DZSpool
import DZSystem
@testable import DZWork
import Foundation
import Logging
import Testing
@testable import DZDeploy

extension DeployTests {
    /// A hostile tenant on a real appserver: the examples/hello app deployed twice, as the victim (`hello`) and as
    /// the attacker (`attacker`), each as its own unix user in bubblewrap. The attacker's code runs as tenant code
    /// does (`managepy` scripts in its own instance's sandbox) and tries each hole; every attempt must fail and the
    /// victim must keep serving.
    @Suite(.serialized, .enabled(if: DeployTests.asRoot && Subprocess.locate("bwrap") != nil))
    struct HostileTenants {
        static let attacker = try! ProjectID("attacker")
        static let ports = 28000...28999

        /// One running, migrated instance.
        struct App: Sendable {
            var project: ProjectID
            var instance: String
            var port: Int
            var pid: Int32
            var uid: UInt32
        }

        /// The two apps on one appserver.
        struct Host: Sendable {
            var scratch: DeployFixture.Scratch
            var settings: AppServerSettings
            var victim: App
            var attacker: App
        }

        /// Deploys and migrates the victim and the attacker on one fresh appserver, then runs `body`.
        func withTwoApps(name: String = #function, limits: [String: JSONValue] = [:],
                         _ body: (Host) async throws -> Void) async throws
        {
            let victimBuild = try await DeployFixture.built()
            let attackerBuild = try await DeployFixture.built(as: Self.attacker)
            await DeployFixture.forgetStaleUser(DeployFixture.appUser(Self.attacker), project: Self.attacker)
            try await DeployFixture.withScratch(name: name) { scratch in
                let settings = AppServerSettings(workspace: scratch.workspace, ports: Self.ports)
                func deploy(_ built: DeployFixture.Built, _ project: ProjectID, _ extra: [String: JSONValue])
                    async throws -> App
                {
                    let database = try SQLiteProvisioner(workspace: scratch.workspace).create(project)
                    var args = DeployFixture.deployArguments(built, project: project, database: database)
                    args.merge(extra) { $1 }
                    let output = try await DeployHandler(workspace: scratch.workspace, store: built.store,
                                                         settings: settings)
                        .run(try DeployFixture.context("deploy", args))
                    let instance = try #require(output["instance"]?.stringValue)
                    _ = try await PostDeployHooksHandler(settings: settings).run(try DeployFixture.context(
                        "post_deploy_hooks", ["project": .string(project.rawValue), "instance": .string(instance)]))
                    return App(project: project, instance: instance, port: Int(try #require(output["port"]?.intValue)),
                               pid: Int32(try #require(output["pid"]?.intValue)), uid: DeployFixture.appUser(project).uid)
                }
                let victim = try await deploy(victimBuild, DeployFixture.project, [:])
                let attacker = try await deploy(attackerBuild, Self.attacker,
                                                limits.isEmpty ? [:] : ["limits": .object(limits)])
                #expect(await DeployFixture.status(port: victim.port) == 200, "the victim serves before the attack")
                try await body(Host(scratch: scratch, settings: settings, victim: victim, attacker: attacker))
                #expect(await DeployFixture.status(port: victim.port) == 200, "the victim serves after the attack")
            }
        }

        /// Runs Python `source` as the attacker's code, in its instance's sandbox; returns what it printed.
        func attack(_ host: Host, _ source: String, timeout: Int = 120) async throws -> ManagePy.Run {
            let runner = try ManagePy(settings: host.settings, project: host.attacker.project,
                                      instance: host.attacker.instance)
            return try await runner.run(runner.script, input: Array(source.utf8), timeout: Double(timeout),
                                        kind: "attack", logger: Logger(label: "test"))
        }

        @Test(.timeLimit(.minutes(20)))
        func aDeadInstancesPortCannotBeSquattedAndItsRequestsWaitForTheRelaunch() async throws {
            try await withTwoApps { host in
                let records = InstanceDirectory(root: host.settings.instancesRoot)
                let record = try #require(try records.record(project: "hello", instance: host.victim.instance))
                // The victim's master and workers die at once (an OOM kill, a crash).
                let processes = AppProcess.ofInstance(pidFile: record.pidFile, uid: record.uid)
                #expect(!processes.isEmpty)
                for process in processes { process.signal(.kill, ifRunningAs: record.uid) }
                #expect(await DeployFixture.eventually {
                    AppProcess.ofInstance(pidFile: record.pidFile, uid: record.uid).isEmpty
                }, "nothing of the victim's instance runs")

                // Another user (the attacker's app) tries to take the port on its address and on every address,
                // with both reuse options.
                let squat = try await attack(host, """
                    import socket
                    for address in ("127.0.0.1", "0.0.0.0"):
                        for reuseport in (False, True):
                            s = socket.socket()
                            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                            if reuseport:
                                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                            try:
                                s.bind((address, \(host.victim.port)))
                                s.listen(16)
                                print("BOUND", address, reuseport)
                            except OSError as error:
                                print("refused", address, reuseport, error.errno)
                            s.close()
                    """)
                #expect(squat.succeeded, "\(squat.stderr)")
                #expect(!squat.stdout.contains("BOUND"), "the squatter never gets the port: \(squat.stdout)")
                #expect(squat.stdout.split(separator: "\n").filter { $0.hasPrefix("refused") }.count == 4,
                        "\(squat.stdout)")

                // A request sent now waits in the held socket's backlog and is served by the relaunched master.
                let waiting = Task { await HealthProbe(address: "127.0.0.1", port: host.victim.port,
                                                       host: "hello.example.com", path: "/").probe(timeout: 120) }
                let supervisor = InstanceSupervisor(settings: host.settings, logger: Logger(label: "test"))
                let round = await supervisor.check()
                #expect(round.relaunched == [host.victim.instance], "\(round)")
                #expect(await waiting.value == .status(200), "the request reached the victim's new master")
                let relaunched = try #require(try records.record(project: "hello", instance: host.victim.instance))
                #expect(relaunched.pid != record.pid && relaunched.port == record.port)
                #expect(DeployFixture.uid(of: relaunched.pid) == host.victim.uid)
            }
        }

        /// The attacker app's control group file `name` under the hierarchy that has it, as text.
        func attackerGroupFile(_ host: Host, _ name: String) -> String? {
            let cgroups = host.settings.cgroups
            var directories: [String] = []
            switch cgroups.mode {
            case .v2(let mount, _): directories = [mount]
            case .v1(let memory, let pids, _): directories = [memory, pids]
            case .rlimits: return nil
            }
            for directory in directories {
                let path = directory + "/" + cgroups.parent + "/attacker/" + name
                if case .contents(let bytes, _)? = try? FileIO.read(path, limit: 4096) {
                    return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                }
            }
            return nil
        }

        @Test(.timeLimit(.minutes(20)))
        func aForkBombInOneAppStopsAtItsProcessLimitWhileTheOtherAppAndTheAppserverKeepWorking() async throws {
            try await withTwoApps(limits: ["processes": .int(64), "memory": .int(256 << 20)]) { host in
                let cgroups = host.settings.cgroups
                try #require(cgroups.mode != .rlimits, "this host has cgroups: \(cgroups.description)")
                #expect(attackerGroupFile(host, "pids.max") == "64", "the attacker's limit is in place")
                let bomb = Task { try await attack(host, """
                    import os, time
                    while True:
                        try:
                            os.fork()
                        except OSError:
                            time.sleep(0.01)
                    """, timeout: 60) }
                // Once the bomb has filled its group, the other app and the appserver still work.
                #expect(await DeployFixture.eventually(timeout: 60) {
                    attackerGroupFile(host, "pids.current") == "64"
                }, "the bomb reaches its limit and no further: \(attackerGroupFile(host, "pids.current") ?? "?")")
                #expect(await DeployFixture.status(port: host.victim.port) == 200, "the victim serves during the bomb")
                let spawned = try await Subprocess.run(["/bin/true"], timeout: 30)
                #expect(spawned.succeeded, "the appserver still starts processes")
                let health = try await HealthCheckHandler(settings: host.settings).run(try DeployFixture.context(
                    "health_check", ["project": .string("hello"), "instance": .string(host.victim.instance),
                                     "hostnames": .array([.string("hello.example.com")])]))
                #expect(health["status"] == .int(200), "a task on the victim runs during the bomb")
                let ended = try await bomb.value
                #expect(ended.ending == .timedOut, "the bomb ran until its time limit killed its group: \(ended.ending)")
                #expect(await DeployFixture.eventually(timeout: 60) {
                    Int(attackerGroupFile(host, "pids.current") ?? "99") ?? 99 < 64
                }, "its processes are gone")
                #expect(await DeployFixture.status(port: host.attacker.port) == 200, "the attacker's own site is back")
            }
        }

        @Test(.timeLimit(.minutes(20)))
        func aMemoryHogInOneAppIsStoppedAtItsMemoryLimitWhileTheOtherAppKeepsServing() async throws {
            try await withTwoApps(limits: ["memory": .int(256 << 20)]) { host in
                let cgroups = host.settings.cgroups
                try #require(cgroups.mode != .rlimits, "this host has cgroups: \(cgroups.description)")
                let before = DZSystem.Host.memory()?.available ?? 0
                let hog = try await attack(host, """
                    blocks = []
                    try:
                        while True:
                            block = bytearray(16 << 20)
                            for i in range(0, len(block), 4096):
                                block[i] = 1
                            blocks.append(block)
                            print(len(blocks) * 16, "MiB", flush=True)
                    except MemoryError:
                        print("MemoryError at", len(blocks) * 16, "MiB")
                    """, timeout: 120)
                // The kernel kills the hog inside the app's group (or Python gives up): never past the limit.
                let reached = hog.stdout.split(separator: "\n").compactMap { line in
                    line.split(separator: " ").first.flatMap { Int($0) }
                }.max() ?? 0
                #expect(reached <= 256 && reached >= 64, "it got close to 256 MiB and no further: \(reached) MiB")
                // Killed by the kernel (SIGKILL; bwrap, its parent, exits 128 + 9), or refused by Python.
                #expect([.signalled(9), .exited(137)].contains(hog.ending) || hog.stdout.contains("MemoryError"),
                        "\(hog.ending) \(hog.stdout.suffix(200))")
                #expect(await DeployFixture.status(port: host.victim.port) == 200, "the victim still serves")
                #expect((DZSystem.Host.memory()?.available ?? 0) + (512 << 20) > before, "the host kept its memory")
            }
        }

        @Test(.timeLimit(.minutes(10)))
        func withoutCgroupsAnAppsProcessesAndMemoryAreBoundByRlimits() async throws {
            try await DeployFixture.withScratch(under: "/tmp") { scratch in
                let user = try await AppUser.ensure(for: DeployFixture.project, allocated: DeployFixture.appUser(),
                                                    logger: Logger(label: "test"))
                let app = AppDirectory(settings: scratch.settings, project: DeployFixture.project, user: user)
                try app.prepare()
                let sandbox = Sandbox(isolation: .bubblewrap, user: user, appDirectory: app.path)
                let placement = try AppCgroups(mode: .rlimits).placement(
                    project: "hello", limits: AppLimits(memory: 128 << 20, processes: 32, cpuWeight: 100))
                let outcome = try await Subprocess.run(sandbox.command(["/usr/bin/python3", "-c", """
                    import os, resource
                    print(resource.getrlimit(resource.RLIMIT_NPROC)[0], resource.getrlimit(resource.RLIMIT_AS)[0])
                    try:
                        bytearray(256 << 20)
                        print("allocated")
                    except MemoryError:
                        print("MemoryError")
                    """]), environment: ["PATH": "/usr/bin:/bin"], timeout: 60, placement: placement)
                #expect(outcome.stdoutText == "32 134217728\nMemoryError\n", "\(outcome.stdoutText) \(outcome.tail())")
            }
        }

        @Test(.timeLimit(.minutes(20)))
        func theAttackerCannotReadTheVictimsEnvironmentFilesOrDirectoryNorSignalIt() async throws {
            try await withTwoApps { host in
                let victimRecord = try #require(try InstanceDirectory(root: host.settings.instancesRoot)
                    .record(project: "hello", instance: host.victim.instance))
                let victimVenv = host.settings.appsRoot + "/.venvs/hello/" + (try #require(
                    try InstanceDirectory(root: host.settings.instancesRoot)
                        .installedBundle(project: "hello", bundle: victimRecord.bundle)?.venv))
                let targets = [
                    victimVenv + "/pyvenv.cfg",
                    "/proc/\(host.victim.pid)/environ",
                    host.settings.instancesRoot + "/hello/" + host.victim.instance + ".env",
                    victimRecord.bundleDirectory + "/dz/runtime.env",
                    victimRecord.bundleDirectory + "/src/hello/settings.py",
                    host.settings.appDirectory("hello") + "/db.sqlite3",
                ]
                let run = try await attack(host, """
                    import os, signal
                    for path in \(targets.map { "\"\($0)\"" }):
                        try:
                            with open(path, "rb") as f:
                                print("READ", path, f.read(40))
                        except OSError as error:
                            print("refused", error.errno, path)
                    for path in ["\(host.settings.appDirectory("hello"))", "\(host.settings.instancesRoot)",
                                 "\(host.settings.appsRoot)", "\(victimVenv)"]:
                        try:
                            print("LISTED", path, os.listdir(path))
                        except OSError as error:
                            print("refused", error.errno, path)
                    for sig in (signal.SIGKILL, signal.SIGSTOP, signal.SIGTTOU, 0):
                        try:
                            os.kill(\(host.victim.pid), sig)
                            print("SIGNALLED", sig)
                        except OSError as error:
                            print("refused signal", int(sig), error.errno)
                    """)
                #expect(run.succeeded, "\(run.stderr)")
                #expect(!run.stdout.contains("READ") && !run.stdout.contains("LISTED"), "\(run.stdout)")
                #expect(!run.stdout.contains("SIGNALLED"), "\(run.stdout)")
                #expect(run.stdout.split(separator: "\n").filter { $0.hasPrefix("refused") }.count == targets.count + 8)
                // Outside any sandbox too, the victim's shared venv is not the attacker's to read.
                let listed = try await Subprocess.run(
                    ["/usr/bin/setpriv", "--reuid=\(host.attacker.uid)", "--regid=\(host.attacker.uid)",
                     "--clear-groups", "--", "/usr/bin/cat", victimVenv + "/pyvenv.cfg"],
                    environment: ["PATH": "/usr/bin:/bin", "LANG": "C"], timeout: 60)
                #expect(!listed.succeeded, "the attacker's user read the victim's venv: \(listed.stdoutText)")
                #expect(!run.stdout.contains("a-secret-key"), "no secret of the victim came back")
                #expect(AppProcess(pid: host.victim.pid).isMaster(uid: host.victim.uid, pidFile: victimRecord.pidFile),
                        "the victim's master is the same process, untouched")
            }
        }

        @Test(.timeLimit(.minutes(20)))
        func theSandboxShowsNoDzConfigurationNoShadowAndNoOtherTenantInEtc() async throws {
            // A credential file where the etc/ samples put them.
            let made = !FileSystem.exists("/etc/dz")
            if made { try FileSystem.makeDirectory("/etc/dz", mode: 0o755) }
            let secret = "/etc/dz/hostile-test-\(getpid()).env"
            try FileIO.create(secret, bytes: Array("AWS_SECRET_ACCESS_KEY=not-for-apps\n".utf8), mode: 0o644, sync: false)
            defer {
                try? FileSystem.unlink(secret)
                if made { try? FileSystem.removeDirectory("/etc/dz") }
            }
            try await withTwoApps { host in
                let run = try await attack(host, """
                    import os, pwd, grp, socket, ssl
                    print("dz", os.path.exists("/etc/dz"), os.path.exists("\(secret)"))
                    print("shadow", os.path.exists("/etc/shadow"), os.path.exists("/etc/gshadow"))
                    print("users", " ".join(sorted(p.pw_name for p in pwd.getpwall())))
                    print("groups", " ".join(sorted(g.gr_name for g in grp.getgrall())))
                    print("me", pwd.getpwuid(os.getuid()).pw_name)
                    print("dns", socket.getaddrinfo("localhost", 80, socket.AF_INET)[0][4][0])
                    print("tls", ssl.create_default_context().cert_store_stats()["x509_ca"] > 0)
                    print("etc", " ".join(sorted(os.listdir("/etc"))))
                    """)
                #expect(run.succeeded, "\(run.stderr)")
                let lines = Dictionary(run.stdout.split(separator: "\n").map { line in
                    let parts = line.split(separator: " ", maxSplits: 1)
                    return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
                }, uniquingKeysWith: { $1 })
                #expect(lines["dz"] == "False False", "no dz configuration: \(run.stdout)")
                #expect(lines["shadow"] == "False False")
                #expect(lines["users"] == "attacker nobody root".replacingOccurrences(of: "attacker",
                                                                                     with: DeployFixture.appUser(Self.attacker).name),
                        "only itself, root and nobody: \(lines["users"] ?? "")")
                #expect(lines["groups"]?.contains("dz_hello") == false)
                #expect(lines["me"] == DeployFixture.appUser(Self.attacker).name)
                #expect(lines["dns"] == "127.0.0.1", "name resolution works")
                #expect(lines["tls"] == "True", "the CA certificates are there")
                #expect(lines["etc"]?.contains("nginx") == false && lines["etc"]?.contains("sudoers") == false,
                        "\(lines["etc"] ?? "")")
            }
        }

        @Test(.timeLimit(.minutes(20)))
        func anAttackersDeployNamingTheVictimsUserOrUidIsRefused() async throws {
            try await withTwoApps { host in
                let built = try await DeployFixture.built(as: Self.attacker)
                let deploy = DeployHandler(workspace: host.scratch.workspace, store: built.store, settings: host.settings)
                let victimUID = Int64(host.victim.uid)
                let attempts: [(JSONValue, String)] = [
                    (.object(["name": .string("dz_hello"), "uid": .int(victimUID)]), "bad-args"),
                    (.object(["name": .string(DeployFixture.appUser(Self.attacker).name), "uid": .int(victimUID)]),
                     "user"),
                ]
                for (user, kind) in attempts {
                    var args = DeployFixture.deployArguments(built, project: Self.attacker)
                    args["app_user"] = user
                    do {
                        _ = try await deploy.run(try DeployFixture.context("deploy", args))
                        Issue.record("the attacker deployed as \(user.jsonText)")
                    } catch let failure as TaskFailure {
                        #expect(failure.kind == kind, "\(failure.message)")
                    }
                }
                let victimUser = try #require(UserDatabase.user(named: "dz_hello"))
                #expect(victimUser.uid == host.victim.uid && victimUser.comment == "dz app hello", "the victim's user")
                let attackerUser = try #require(UserDatabase.user(named: DeployFixture.appUser(Self.attacker).name))
                #expect(attackerUser.uid == host.attacker.uid, "and the attacker's stay as they were")
            }
        }

        @Test(.timeLimit(.minutes(20)))
        func theAttackersPyvenvHomeAndPlantedFifosDecideNothingRootDoes() async throws {
            try await withTwoApps { host in
                let records = InstanceDirectory(root: host.settings.instancesRoot)
                let first = try #require(try records.record(project: "attacker", instance: host.attacker.instance))
                let key = try #require(try records.installedBundle(project: "attacker", bundle: first.bundle)?.venv)
                let shared = host.settings.appsRoot + "/.venvs/attacker/" + key
                // The shared venv is read-only to the app: its bundle's `venv` link is replaced instead, by a venv
                // of the attacker's own (the shared one's files through links) whose pyvenv.cfg names another home.
                let planted = try await attack(host, """
                    import os
                    bundle = "\(first.bundleDirectory)"
                    shared = os.readlink(bundle + "/venv")
                    for path in (shared + "/pyvenv.cfg", shared + "/planted"):
                        try:
                            with open(path, "a") as f:
                                f.write("home = //bin\\n")
                            print("WROTE", path)
                        except OSError as error:
                            pass
                    own = bundle + "/own-venv"
                    os.makedirs(own + "/bin")
                    for name in os.listdir(shared + "/bin"):
                        os.symlink(shared + "/bin/" + name, own + "/bin/" + name)
                    os.symlink(shared + "/lib", own + "/lib")
                    with open(own + "/pyvenv.cfg", "w") as f:
                        f.write("home = //bin\\ninclude-system-site-packages = false\\nversion = 3.11.2\\n")
                    os.symlink(own, bundle + "/venv.new")
                    os.replace(bundle + "/venv.new", bundle + "/venv")
                    for path in (bundle + "/src/Procfile", "\(first.appDirectory)/logs/\(first.errorLogName)"):
                        if os.path.lexists(path):
                            os.unlink(path)
                        os.mkfifo(path)
                    print("planted")
                    """)
                #expect(planted.stdout == "planted\n", "\(planted.stderr)")

                // A FIFO where root reads an app's file is refused at once, never waited on.
                let started = Date()
                do {
                    _ = try await PostDeployHooksHandler(settings: host.settings).run(try DeployFixture.context(
                        "post_deploy_hooks", ["project": .string("attacker"), "instance": .string(first.instance),
                                              "migrate": .bool(false), "timeout_s": .int(600)]))
                    Issue.record("a FIFO Procfile was read")
                } catch let failure as TaskFailure {
                    #expect(failure.kind == "filesystem" && failure.message.contains("Procfile"), "\(failure.message)")
                }
                let logs = try await ReadLogsHandler(appServer: host.settings, proxy: ProxySettings(workspace: host.scratch.workspace))
                    .run(try DeployFixture.context("read_logs", ["project": .string("attacker")]))
                let errorLog = logs["files"]?.arrayValue?.first { $0["stream"] == .string("error") }
                #expect(errorLog?["error"]?.stringValue?.hasPrefix("refused") == true, "\(errorLog ?? .null)")
                #expect(Date().timeIntervalSince(started) < 300, "neither task waited on a FIFO")

                // Another instance of the same bundle: the sandbox binds what the host allows, not `home`.
                let built = try await DeployFixture.built(as: Self.attacker)
                let second = try await DeployHandler(workspace: host.scratch.workspace, store: built.store,
                                                     settings: host.settings)
                    .run(try DeployFixture.context("deploy", DeployFixture.deployArguments(built, project: Self.attacker)))
                let secondInstance = try #require(second["instance"]?.stringValue)
                let record = try #require(try records.record(project: "attacker", instance: secondInstance))
                var sources: [String] = []
                for (index, word) in record.sandbox.enumerated() where word == "--ro-bind" || word == "--ro-bind-try" {
                    sources.append(record.sandbox[index + 1])
                }
                #expect(!sources.contains { $0 == "/" || $0.hasPrefix("//") || $0 == "/bin/.." }, "\(sources)")
                let allowed = Sandbox.systemDirectories + Sandbox.etcShown().map { "/etc/" + $0 }
                    + [records.root + "/attacker/.etc/passwd", records.root + "/attacker/.etc/group", shared]
                #expect(sources.allSatisfy { allowed.contains($0) }, "only what the host allows: \(sources)")
                #expect(sources.contains(shared), "the shared venv root recorded, not the bundle's link: \(sources)")
                let link = try FileManager.default.destinationOfSymbolicLink(atPath: shared + "/bin/python")
                #expect(link.hasPrefix("/usr/bin/python3."), "the venv still links to the allowed interpreter")
                #expect(!FileSystem.exists(shared + "/planted"))
                #expect(!String(decoding: try FileIO.readAll(shared + "/pyvenv.cfg"), as: UTF8.self).contains("//bin"))
            }
        }
    }
}
