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
@testable import DZBundle
@testable import DZDeploy

/// Real deploys of examples/hello: gunicorn daemonised in bubblewrap as the app's own user, HTTP through the
/// Host header, migrate as a hook, the supervisor, stop_instances; and the refusals.
@Suite(.serialized, DeployFixture.Scope()) struct DeployTests {
    static let asRoot = getuid() == 0

    @Test(.timeLimit(.minutes(15)))
    func deployServesThePageAsTheAppUserAndHooksMigrate() async throws {
        let built = try await DeployFixture.built()
        try await DeployFixture.withScratch { scratch in
            let database = try SQLiteProvisioner(workspace: scratch.workspace).create(DeployFixture.project)
            let deploy = DeployHandler(workspace: scratch.workspace, store: built.store, settings: scratch.settings)
            let context = try DeployFixture.context("deploy", DeployFixture.deployArguments(built, database: database))
            let output = try await deploy.run(context)
            let port = Int(try #require(output["port"]?.intValue))
            let pid = Int32(try #require(output["pid"]?.intValue))
            let instance = try #require(output["instance"]?.stringValue)
            #expect(output["adopted"] == .bool(false))
            #expect(instance.hasPrefix("\(built.bundle).t1.\(port)."), "<bundle>.<appserver>.<port>.<started>: \(instance)")
            #expect(scratch.settings.ports.contains(port))

            let expectedUID = Self.asRoot ? DeployFixture.appUser().uid : getuid()
            #expect(output["user"] == .string(Self.asRoot ? "dz_hello" : (UserDatabase.user(uid: getuid())?.name ?? "")))
            if Self.asRoot {
                let made = try #require(UserDatabase.user(named: "dz_hello"))
                #expect(made.uid == expectedUID && made.gid == expectedUID, "the allocated uid, its own group")
                #expect(made.comment == "dz app hello")
            }
            #expect(DeployFixture.uid(of: pid) == expectedUID, "the master runs as the app's user")

            let bundleDirectory = scratch.settings.appDirectory("hello") + "/" + built.bundle
            #expect(!FileSystem.exists(bundleDirectory + "/dz/runtime.env"), "the environment is not the app's file")
            let environmentPath = scratch.settings.instancesRoot + "/hello/" + instance + ".env"
            let runtime = try FileManager.default.attributesOfItem(atPath: environmentPath)
            #expect((runtime[.posixPermissions] as? Int) == 0o600)
            #expect((runtime[.ownerAccountID] as? NSNumber)?.uint32Value == getuid(), "root's, beside the record")
            #expect(String(decoding: try FileIO.readAll(environmentPath), as: UTF8.self)
                .contains("DZ_SECRET_KEY=a-secret-key-for-tests"))
            let installed = try #require(try InstanceDirectory(root: scratch.settings.instancesRoot)
                .installedBundle(project: "hello", bundle: built.bundle))
            #expect(installed.sha256 == built.sha256 && installed.interpreter.hasPrefix("/usr/bin/python3."))
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: bundleDirectory + "/venv/bin/python")
                == installed.interpreter, "the venv runs the allowed interpreter the manifest's version names")
            let recordPath = scratch.settings.instancesRoot + "/hello/" + instance + ".json"
            let record = try #require(try InstanceDirectory(root: scratch.settings.instancesRoot)
                .record(project: "hello", instance: instance))
            #expect(record.state == .running && record.pid == pid && record.job == "job1")
            #expect((try FileManager.default.attributesOfItem(atPath: recordPath)[.posixPermissions] as? Int) == 0o600)
            #expect(!String(decoding: try FileIO.readAll(recordPath), as: UTF8.self).contains("a-secret-key-for-tests"),
                    "no secret in the record")

            // Django answers for its host names only (a wildcard's too), and the page needs its table.
            #expect(await DeployFixture.status(port: port, host: "not-served.example.com") == 400)
            #expect(await DeployFixture.status(port: port, host: "www.hello.test", path: "/dz-health") == 404)

            let hooks = PostDeployHooksHandler(settings: scratch.settings)
            let hooked = try await hooks.run(try DeployFixture.context("post_deploy_hooks", [
                "project": .string("hello"), "instance": .string(instance),
            ]))
            #expect(hooked["migrated"] == .bool(true))
            #expect(hooked["release"] == .null, "the example's Procfile has no release command")
            #expect(hooked["output"]?.stringValue?.contains("Applying greetings.0001_initial") == true,
                    "\(hooked["output"] ?? .null)")
            let tables = try await Subprocess.run([
                "python3", "-c",
                "import sqlite3, sys; print(sorted(r[0] for r in sqlite3.connect(sys.argv[1]).execute("
                    + "\"select name from sqlite_master where type='table'\")))",
                database.name,
            ], timeout: 60)
            #expect(tables.stdoutText.contains("greetings_greeting"), "\(tables.stdoutText) \(tables.tail())")
            let databaseOwner = try FileManager.default.attributesOfItem(atPath: database.name)[.ownerAccountID]
            #expect((databaseOwner as? NSNumber)?.uint32Value == expectedUID, "the app owns its database")
            #expect(await DeployFixture.status(port: port) == 200, "the page answers once migrated")

            // A retried task finds its healthy instance instead of starting another.
            let retried = try await deploy.run(context)
            #expect(retried["adopted"] == .bool(true))
            #expect(retried["instance"] == .string(instance))
            #expect(DeployFixture.masters(pidFile: record.pidFile) == [pid])

            let stop = StopInstancesHandler(settings: scratch.settings)
            let stopped = try await stop.run(try DeployFixture.context("stop_instances", [
                "project": .string("hello"), "instances": .array([.string(instance), .string("bundle_hello_x.t1.1")]),
                "grace_s": .int(10),
            ]))
            #expect(stopped["stopped"] == .array([.string(instance)]))
            #expect(stopped["missing"] == .array([.string("bundle_hello_x.t1.1")]))
            #expect(DeployFixture.masters(pidFile: record.pidFile).isEmpty)
            #expect(!AppProcess(pid: pid).isLive(as: expectedUID))
            #expect(!FileSystem.exists(bundleDirectory), "the bundle no instance uses is removed")
            #expect(!FileSystem.exists(environmentPath), "and the instance's environment")
            #expect(try InstanceDirectory(root: scratch.settings.instancesRoot)
                .installedBundle(project: "hello", bundle: built.bundle) == nil, "and the bundle's record")
            #expect(try InstanceDirectory(root: scratch.settings.instancesRoot)
                .record(project: "hello", instance: instance) == nil)
            #expect(await DeployFixture.status(port: port) == nil)
        }
    }

    @Test func aDeployOnAnotherAppserversQueueIsRefused() async throws {
        try await DeployFixture.withScratch(under: "/tmp") { scratch in
            let deploy = DeployHandler(workspace: scratch.workspace, store: DirectoryStore(root: scratch.root + "/store"),
                                       settings: scratch.settings)
            var args = DeployFixture.deployArguments(Self.placeholder)
            args["appserver"] = .string("t2")
            do {
                _ = try await deploy.run(try DeployFixture.context("deploy", args, queue: "appserver_t1"))
                Issue.record("a deploy for t2 ran on t1's queue")
            } catch let failure as TaskFailure {
                #expect(failure.kind == "wrong-appserver")
                #expect(!failure.retryable)
            }
            #expect(!FileSystem.exists(scratch.settings.appsRoot), "nothing happened")
        }
    }

    @Test func hostileArgumentsAreRejectedBeforeAnythingHappens() async throws {
        try await DeployFixture.withScratch(under: "/tmp") { scratch in
            let deploy = DeployHandler(workspace: scratch.workspace, store: DirectoryStore(root: scratch.root + "/store"),
                                       settings: scratch.settings)
            let base = DeployFixture.deployArguments(Self.placeholder)
            func strings(_ items: String...) -> JSONValue { .array(items.map { .string($0) }) }
            func object(_ items: [String: JSONValue]) -> JSONValue { .object(items) }
            let hostile: [(String, JSONValue)] = [
                ("project", .string("../etc")), ("project", .string("Hello")), ("bundle", .string("bundle_other_1")),
                ("bundle", .string("../../x")), ("appserver", .string("t1/../x")), ("appserver", .int(1)),
                ("hostnames", strings("evil.example.com;rm -rf /")), ("hostnames", strings()),
                ("hostnames", strings("ok.example.com", "bad host")), ("wsgi", .string("hello.wsgi; rm -rf /")),
                ("wsgi", .string("-c")), ("wsgi", .string("hello.wsgi:app:x")), ("wsgi", .string("os.system('id')")),
                ("environment", object(["LD_PRELOAD": .string("/tmp/x.so")])),
                ("environment", object(["DZ_SECRET_KEY": .string("x")])), ("environment", object(["PATH": .string("/tmp")])),
                ("environment", object(["lower": .string("x")])), ("environment", object(["A": .string("line\nB=2")])),
                ("environment", object(["A": .int(1)])), ("environment", .string("A=1")),
                ("workers", .int(0)), ("workers", .int(33)), ("workers", .string("many")),
                ("health_path", .string("nope")), ("health_path", .string("/a b")), ("sha256", .string("xyz")),
                ("secret_key", .string("a\nb")), ("health_timeout_s", .int(0)),
                ("database", object(["engine": .string("sqlite"), "name": .string("/tmp/apps/hello/../../etc/db.sqlite3")])),
                ("database", object(["engine": .string("sqlite"), "name": .string("relative/apps/hello/db.sqlite3")])),
                ("database", object(["engine": .string("sqlite"), "name": .string("/srv/apps/other/db.sqlite3")])),
                ("database", object(["engine": .string("postgresql"), "name": .string("hello"), "user": .string("u"),
                                     "host": .string("h/../x")])),
                ("database", object(["engine": .string("mysql"), "name": .string("hello")])),
                ("database", .string("sqlite")),
            ]
            for (key, value) in hostile {
                var args = base
                args[key] = value
                do {
                    _ = try await deploy.run(try DeployFixture.context("deploy", args))
                    Issue.record("\(key) = \(value.jsonText) was accepted")
                } catch let failure as TaskFailure {
                    #expect(failure.kind == "bad-args", "\(key) = \(value.jsonText): \(failure)")
                }
            }
            #expect(!FileSystem.exists(scratch.settings.appsRoot), "nothing was created")
            #expect(!FileSystem.exists(scratch.settings.instancesRoot))

            let hooks = PostDeployHooksHandler(settings: scratch.settings)
            for args: [String: JSONValue] in [
                ["project": .string("hello"), "instance": .string("../x")], ["project": .string("hello")],
                ["project": .string("hello"), "instance": .string("a"), "migrate": .string("yes")],
            ] {
                await #expect(throws: TaskFailure.self) {
                    try await hooks.run(try DeployFixture.context("post_deploy_hooks", args))
                }
            }
            let stop = StopInstancesHandler(settings: scratch.settings)
            for args: [String: JSONValue] in [
                ["project": .string("hello"), "instances": strings("../../x")], ["project": .string("hello")],
                ["project": .string("hello"), "instances": .string("a")],
            ] {
                await #expect(throws: TaskFailure.self) {
                    try await stop.run(try DeployFixture.context("stop_instances", args))
                }
            }
        }
    }

    @Test(.timeLimit(.minutes(10)))
    func aBadWSGIModuleFailsTheHealthCheckAndLeavesNothingRunning() async throws {
        let built = try await DeployFixture.built()
        try await DeployFixture.withScratch { scratch in
            let deploy = DeployHandler(workspace: scratch.workspace, store: built.store, settings: scratch.settings)
            let args = DeployFixture.deployArguments(built, wsgi: "hello.nosuchmodule")
            do {
                _ = try await deploy.run(try DeployFixture.context("deploy", args))
                Issue.record("a deploy of a missing WSGI module succeeded")
            } catch let failure as TaskFailure {
                #expect(failure.kind == "health-check", "\(failure)")
                #expect(!failure.retryable)
                #expect(failure.message.contains("nosuchmodule"), "the error log's tail: \(failure.message)")
                #expect(!failure.message.contains("a-secret-key-for-tests"))
            }
            #expect(InstanceDirectory(root: scratch.settings.instancesRoot).records().isEmpty, "no record")
            let anyLeft = ((try? FileSystem.names(in: "/proc")) ?? []).compactMap { Int32($0) }.contains { pid in
                AppProcess(pid: pid).arguments.contains { $0.hasPrefix(scratch.settings.appsRoot) }
            }
            #expect(!anyLeft, "no process of this appserver is left")
        }
    }

    @Test(.timeLimit(.minutes(10)))
    func aViewThatRaisesLogsItsTracebackAndTheHealthCheckQuotesIt() async throws {
        let built = try await DeployFixture.built()
        try await DeployFixture.withScratch { scratch in
            // A database never migrated: the site starts (/dz-health is a 404 that needs no table), and the home
            // page raises "no such table", as an app whose view fails in production would, with DEBUG off.
            let database = try SQLiteProvisioner(workspace: scratch.workspace).create(DeployFixture.project)
            var args = DeployFixture.deployArguments(built, database: database)
            args["environment"] = .object(["HELLO_GREETING": .string("hi"),
                                           "SENTRY_DSN": .string("https://dsn-secret-value@sentry.example/1")])
            let deploy = DeployHandler(workspace: scratch.workspace, store: built.store, settings: scratch.settings)
            let output = try await deploy.run(try DeployFixture.context("deploy", args))
            let instance = try #require(output["instance"]?.stringValue)
            let port = Int(try #require(output["port"]?.intValue))
            let record = try #require(try InstanceDirectory(root: scratch.settings.instancesRoot)
                .record(project: "hello", instance: instance))

            // Python's output is unbuffered in every process dz starts for the app.
            let environ = try #require(try? FileIO.read("/proc/\(record.pid)/environ", limit: 1 << 20))
            guard case .contents(let bytes, _) = environ else { Issue.record("no environ"); return }
            #expect(bytes.split(separator: 0).contains { $0.elementsEqual(Array("PYTHONUNBUFFERED=1".utf8)) })

            #expect(await DeployFixture.status(port: port) == 500)
            let errorLog = record.appDirectory + "/logs/" + record.errorLogName
            func logText() -> String {
                guard case .contents(let bytes, _)? = try? FileIO.read(errorLog, limit: 1 << 20) else { return "" }
                return String(decoding: bytes, as: UTF8.self)
            }
            // django.request's error, with its traceback, reaches the instance's error log (dz's LOGGING).
            #expect(await DeployFixture.eventually {
                logText().contains("ERROR] django.request: Internal Server Error: /")
                    && logText().contains("Traceback (most recent call last)")
                    && logText().contains("no such table: greetings_greeting")
            }, "\(logText().suffix(2000))")

            let check = HealthCheckHandler(settings: scratch.settings)
            do {
                _ = try await check.run(try DeployFixture.context("health_check", [
                    "project": .string("hello"), "instance": .string(instance),
                    "hostnames": .array([.string("hello.example.com")]), "health_path": .string("/"),
                    "health_timeout_s": .int(2),
                ]))
                Issue.record("a home page that raises passed the health check")
            } catch let failure as TaskFailure {
                #expect(failure.kind == "health-check", "\(failure)")
                #expect(failure.message.contains("answered 500"), "\(failure.message)")
                #expect(failure.message.contains("no such table: greetings_greeting"), "\(failure.message)")
                #expect(!failure.message.contains("a-secret-key-for-tests"))
                #expect(!failure.message.contains("dsn-secret-value"))
            }
        }
    }

    @Test(.timeLimit(.minutes(10)))
    func theSupervisorRelaunchesAKilledMasterAndAdoptsALiveOne() async throws {
        let built = try await DeployFixture.built()
        try await DeployFixture.withScratch { scratch in
            let deploy = DeployHandler(workspace: scratch.workspace, store: built.store, settings: scratch.settings)
            let output = try await deploy.run(try DeployFixture.context("deploy", DeployFixture.deployArguments(built)))
            let instance = try #require(output["instance"]?.stringValue)
            let port = Int(try #require(output["port"]?.intValue))
            let records = InstanceDirectory(root: scratch.settings.instancesRoot)
            let first = try #require(try records.record(project: "hello", instance: instance))

            // A new agent's supervisor adopts what runs, and starts nothing.
            let supervisor = InstanceSupervisor(settings: scratch.settings, logger: Logger(label: "test"))
            #expect(await supervisor.adoptLiveInstances() == [instance])
            let quiet = await supervisor.check()
            #expect(quiet.healthy == [instance] && quiet.relaunched.isEmpty)
            #expect(DeployFixture.masters(pidFile: first.pidFile) == [first.pid])

            kill(first.pid, SIGKILL)
            #expect(await DeployFixture.eventually { !AppProcess(pid: first.pid).isLive(as: first.uid) })
            let round = await supervisor.check()
            #expect(round.relaunched == [instance])
            let second = try #require(try records.record(project: "hello", instance: instance))
            #expect(second.pid != first.pid && second.pid > 0)
            #expect(second.restarts == 1 && second.state == .running)
            #expect(second.argv == first.argv, "relaunched with the same command")
            #expect(DeployFixture.uid(of: second.pid) == first.uid)
            #expect(await DeployFixture.eventually {
                await DeployFixture.status(port: port, path: "/dz-health") == 404
            })
            #expect((await supervisor.check()).healthy == [instance])
            #expect(DeployFixture.masters(pidFile: first.pidFile) == [second.pid], "exactly one master")

            // Past the crash-loop limit it gives up.
            kill(second.pid, SIGKILL)
            #expect(await DeployFixture.eventually { !AppProcess(pid: second.pid).isLive(as: first.uid) })
            let strict = InstanceSupervisor(settings: scratch.settings, maxRestarts: 1, logger: Logger(label: "test"))
            #expect((await strict.check()).failed == [instance])
            #expect(try records.record(project: "hello", instance: instance)?.state == .failed)
            #expect(DeployFixture.masters(pidFile: first.pidFile).isEmpty)
        }
    }

    @Test(.timeLimit(.minutes(10)))
    func aFailingMigrationFailsTheHooksWithItsOutputMasked() async throws {
        let built = try await DeployFixture.built()
        try await DeployFixture.withScratch { scratch in
            // A database file that is not a database: the site starts (the health check's 404 needs no database),
            // and migrate fails.
            let database = try SQLiteProvisioner(workspace: scratch.workspace).create(DeployFixture.project)
            try FileSystem.unlink(database.name)
            try FileIO.create(database.name, bytes: Array(String(repeating: "not sqlite ", count: 200).utf8),
                              sync: false)
            let deploy = DeployHandler(workspace: scratch.workspace, store: built.store, settings: scratch.settings)
            let output = try await deploy.run(try DeployFixture.context(
                "deploy", DeployFixture.deployArguments(built, database: database)))
            let instance = try #require(output["instance"]?.stringValue)
            let hooks = PostDeployHooksHandler(settings: scratch.settings)
            do {
                _ = try await hooks.run(try DeployFixture.context("post_deploy_hooks", [
                    "project": .string("hello"), "instance": .string(instance), "timeout_s": .int(120),
                ]))
                Issue.record("migrate into a file that is not a database succeeded")
            } catch let failure as TaskFailure {
                #expect(failure.kind == "migrate" && !failure.retryable)
                #expect(failure.message.contains("not a database"), "\(failure.message)")
                #expect(!failure.message.contains("a-secret-key-for-tests"))
            }
            await #expect(throws: TaskFailure.self) {
                try await hooks.run(try DeployFixture.context("post_deploy_hooks", [
                    "project": .string("hello"), "instance": .string("bundle_hello_x.t1.1"),
                ]))
            }
        }
    }

    @Test func aSQLiteDatabaseOutsideThisAppserversDirectoryIsRefused() async throws {
        try await DeployFixture.withScratch(under: "/tmp") { scratch in
            let user = AppUser(name: "me", uid: getuid(), gid: getgid(), switches: false)
            let app = AppDirectory(settings: scratch.settings, project: DeployFixture.project, user: user)
            let handle = try app.prepare()
            let elsewhere = scratch.root + "/other-host/apps/hello"
            try FileSystem.makeDirectories(elsewhere)
            let database = AppDatabase(engine: .sqlite, name: elsewhere + "/db.sqlite3", justCreated: false)
            #expect(throws: DeployError.self) { try app.adoptSQLite(database, handle: handle) }
            #expect(DeployError.database("x").taskFailure.retryable == false)
            // The same directory through a link is this host's: bound at the path the app is given.
            try FileSystem.symlink(target: scratch.workspace.root, at: scratch.root + "/link")
            let linked = AppDatabase(engine: .sqlite, name: scratch.root + "/link/apps/hello/db.sqlite3",
                                     justCreated: false)
            let binding = try app.adoptSQLite(linked, handle: handle)
            #expect(binding == Sandbox.Binding(source: app.path, destination: scratch.root + "/link/apps/hello"))
        }
    }

    @Test(.enabled(if: DeployTests.asRoot && Subprocess.locate("bwrap") != nil), .timeLimit(.minutes(10)))
    func theSandboxShowsTheAppItsOwnDirectoryOnly() async throws {
        try await DeployFixture.withScratch(under: "/tmp") { scratch in
            let user = try await AppUser.ensure(for: DeployFixture.project, allocated: DeployFixture.appUser(),
                                                logger: Logger(label: "test"))
            let app = AppDirectory(settings: scratch.settings, project: DeployFixture.project, user: user)
            try app.prepare()
            try "mine\n".write(toFile: app.path + "/mine.txt", atomically: false, encoding: .utf8)
            let other = scratch.settings.appDirectory("other")
            try FileSystem.makeDirectories(other, mode: 0o755)
            try "theirs\n".write(toFile: other + "/secret.txt", atomically: false, encoding: .utf8)
            let spool = scratch.root + "/spool/new"
            try FileSystem.makeDirectories(spool, mode: 0o755)
            try "{}\n".write(toFile: spool + "/task.json", atomically: false, encoding: .utf8)
            try FileSystem.setMode(spool + "/task.json", 0o644)
            try FileSystem.setMode(other + "/secret.txt", 0o644)

            let sandbox = Sandbox(isolation: scratch.settings.effectiveIsolation, user: user, appDirectory: app.path)
            #expect(sandbox.isolation == .bubblewrap)
            func run(_ command: [String]) async throws -> Subprocess.Outcome {
                try await Subprocess.run(sandbox.command(command), environment: ["PATH": "/usr/bin:/bin"], timeout: 60)
            }
            let identity = try await run(["/usr/bin/id", "-u"])
            #expect(identity.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == String(user.uid))
            #expect(try await run(["/bin/cat", app.path + "/mine.txt"]).stdoutText == "mine\n")
            let here = try await Subprocess.run(sandbox.command(["/bin/pwd"]), environment: ["PATH": "/usr/bin:/bin"],
                                                workingDirectory: app.path + "/logs", timeout: 60)
            #expect(here.stdoutText == app.path + "/logs\n", "commands keep their working directory")
            #expect(try await run(["/bin/sh", "-c", "echo x > " + app.path + "/written.txt"]).succeeded,
                    "its own directory is writable")
            #expect(!(try await run(["/bin/cat", other + "/secret.txt"]).succeeded), "another app is out of sight")
            #expect(!(try await run(["/bin/ls", other]).succeeded))
            #expect(!(try await run(["/bin/cat", spool + "/task.json"]).succeeded), "the spool is out of sight")
            #expect(!(try await run(["/bin/ls", scratch.workspace.root]).stdoutText.contains("instances")))
            #expect(!(try await run(["/bin/sh", "-c", "echo x > /etc/dz-test"]).succeeded), "the system is read-only")
            // Without the sandbox the app's user could read the spool: the file is world-readable.
            #expect(try await Subprocess.run(["/usr/bin/setpriv", "--reuid=\(user.uid)", "--regid=\(user.gid)",
                                              "--clear-groups", "--", "/bin/cat", spool + "/task.json"]).succeeded)
        }
    }

    /// Arguments checks need no build: a made-up bundle of the right shape.
    static let placeholder = DeployFixture.Built(
        root: "/nonexistent", store: DirectoryStore(root: "/nonexistent"),
        bundle: "bundle_hello_2026-01-01-00.00.00", sha256: String(repeating: "a", count: 64))
}
