import DZAgent
@testable import DZDeploy
import DZSpool
import DZSystem
@testable import DZWork
import Foundation
import Testing

extension DeployTests {
    /// managepy and post_deploy_hooks' schema check on a real instance of examples/hello (inside DeployTests, so
    /// that they share its one build of the bundle).
    @Suite(.serialized) struct ManagePyTests {
        /// Deploys the built bundle on SQLite and migrates it; runs `body` with the instance id.
        func withMigratedInstance(name: String = #function,
                                  _ body: (DeployFixture.Scratch, String, AppDatabase) async throws -> Void)
            async throws
        {
            let built = try await DeployFixture.built()
            try await DeployFixture.withScratch(name: name) { scratch in
                let database = try SQLiteProvisioner(workspace: scratch.workspace).create(DeployFixture.project)
                let deploy = DeployHandler(workspace: scratch.workspace, store: built.store, settings: scratch.settings)
                let output = try await deploy.run(try DeployFixture.context(
                    "deploy", DeployFixture.deployArguments(built, database: database)))
                let instance = try #require(output["instance"]?.stringValue)
                let hooks = PostDeployHooksHandler(settings: scratch.settings)
                let hooked = try await hooks.run(try DeployFixture.context("post_deploy_hooks", [
                    "project": .string("hello"), "instance": .string(instance), "check_schema": .bool(true),
                ]))
                #expect(hooked["migrated"] == .bool(true))
                #expect(hooked["schema_ahead"] == .array([]), "a fresh database is not ahead")
                try await body(scratch, instance, database)
            }
        }

        func managepy(_ scratch: DeployFixture.Scratch, _ args: [String: JSONValue]) async throws
            -> [String: JSONValue]
        {
            try await ManagePyHandler(settings: scratch.settings)
                .run(try DeployFixture.context("managepy", args.merging(["project": .string("hello")]) { $1 }))
        }

        @Test(.timeLimit(.minutes(15)))
        func aCommandsOutputAndExitStatusComeBackMasked() async throws {
            try await withMigratedInstance { scratch, instance, _ in
                let greet = try await managepy(scratch, [
                    "instance": .string(instance), "argv": .array(["greet", "--exit-code", "3"].map { .string($0) }),
                ])
                #expect(greet["ending"] == .string("exited") && greet["exit_code"] == .int(3), "\(greet)")
                #expect(greet["stdout"] == .string("greetings: 0\n"), "\(greet)")
                #expect(greet["stderr"]?.stringValue?.contains("greet: done") == true)
                #expect(greet["truncated"] == .bool(false))
                #expect(greet["command"] == .string("manage.py greet --exit-code 3"))

                let shell = try await managepy(scratch, ["instance": .string(instance), "script": .string("""
                    import os
                    from django.conf import settings
                    print(6*7)
                    print(os.environ["DZ_SECRET_KEY"], settings.SECRET_KEY)
                    """)])
                #expect(shell["exit_code"] == .int(0), "\(shell)")
                #expect(shell["stdout"] == .string("42\n*** ***\n"), "the secret key is masked: \(shell)")

                // A long output keeps its end; a command past its time limit still reports what it printed.
                let long = try await managepy(scratch, ["instance": .string(instance), "script": .string("""
                    for i in range(20000):
                        print("line %05d" % i)
                    raise SystemExit(5)
                    """)])
                #expect(long["exit_code"] == .int(5) && long["truncated"] == .bool(true))
                let text = try #require(long["stdout"]?.stringValue)
                #expect(text.utf8.count <= ManagePyHandler.keptBytes && text.hasSuffix("line 19999\n"))
                let slow = try await managepy(scratch, ["instance": .string(instance), "timeout_s": .int(3),
                                                        "script": .string("""
                    import sys, time
                    print("started", flush=True)
                    time.sleep(60)
                    """)])
                #expect(slow["ending"] == .string("timed-out") && slow["exit_code"] == .null, "\(slow)")
                #expect(slow["stdout"] == .string("started\n"))
            }
        }

        @Test(.timeLimit(.minutes(15)))
        func theSchemaCheckRefusesADatabaseAheadOfTheBundleUnlessAllowed() async throws {
            try await withMigratedInstance { scratch, instance, database in
                // As after a rollback: the database has a migration of the app that the bundle lacks, and one of
                // an app the bundle no longer installs (not counted).
                let inserted = try await Subprocess.run([
                    "python3", "-c", """
                    import sqlite3, sys
                    db = sqlite3.connect(sys.argv[1])
                    db.executemany("insert into django_migrations (app, name, applied) values (?, ?, datetime('now'))",
                                   [("greetings", "0002_future"), ("removedapp", "0001_initial")])
                    db.commit()
                    """, database.name,
                ], timeout: 60)
                try #require(inserted.succeeded, "\(inserted.tail())")
                let hooks = PostDeployHooksHandler(settings: scratch.settings)
                let base: [String: JSONValue] = [
                    "project": .string("hello"), "instance": .string(instance), "check_schema": .bool(true),
                ]
                do {
                    _ = try await hooks.run(try DeployFixture.context("post_deploy_hooks", base))
                    Issue.record("a database ahead of the bundle was migrated")
                } catch let failure as TaskFailure {
                    #expect(failure.kind == "schema-mismatch" && !failure.retryable, "\(failure)")
                    #expect(failure.message.contains("greetings.0002_future"), "\(failure.message)")
                    #expect(!failure.message.contains("removedapp"), "an app no longer installed is not counted")
                    // The bundle's newest migration of greetings is 0001_initial: the one to go back to.
                    #expect(failure.message.contains("dz manage --project hello -- migrate greetings 0001_initial"),
                            "\(failure.message)")
                    #expect(failure.message.contains("--allow-schema-mismatch"))
                }
                let allowed = try await hooks.run(try DeployFixture.context("post_deploy_hooks",
                    base.merging(["allow_schema_mismatch": .bool(true)]) { $1 }))
                #expect(allowed["schema_ahead"] == .array([.string("greetings.0002_future")]), "\(allowed)")
                #expect(allowed["migrated"] == .bool(false), "migrate is skipped")
                #expect(allowed["output"]?.stringValue?.contains("schema_mismatch: [greetings.0002_future]") == true)
                let unchecked = try await hooks.run(try DeployFixture.context("post_deploy_hooks", [
                    "project": .string("hello"), "instance": .string(instance),
                ]))
                #expect(unchecked["schema_ahead"] == .null && unchecked["migrated"] == .bool(true),
                        "without check_schema, migrate runs as before")
            }
        }

        @Test func hostileArgumentsAreRejectedBeforeAnythingRuns() async throws {
            try await DeployFixture.withScratch(under: "/tmp") { scratch in
                let handler = ManagePyHandler(settings: scratch.settings)
                func strings(_ items: [String]) -> JSONValue { .array(items.map { .string($0) }) }
                let valid: [String: JSONValue] = ["project": .string("hello"), "instance": .string("b.t1.1"),
                                                  "argv": strings(["check"])]
                let hostile: [[String: JSONValue]] = [
                    ["project": .string("../etc")], ["project": .string("Hello")], ["instance": .string("../x")],
                    ["instance": .string("a/b")], ["instance": .int(1)],
                    ["argv": strings([])], ["argv": .string("check")], ["argv": .array([.int(1)])],
                    ["argv": strings([""])], ["argv": strings(["check", "a\u{0}b"])],
                    ["argv": strings(Array(repeating: "x", count: 257))],
                    ["argv": strings([String(repeating: "x", count: 16 * 1024 + 1)])],
                    ["argv": strings(Array(repeating: String(repeating: "x", count: 10_000), count: 7))],
                    ["script": .string("print(1)")],
                    ["argv": .null, "script": .string(String(repeating: "#", count: 256 * 1024 + 1))],
                    ["argv": .null, "script": .string("print(1)\u{0}")], ["argv": .null, "script": .int(1)],
                    ["argv": .null], ["timeout_s": .int(0)], ["timeout_s": .int(86_401)], ["timeout_s": .string("x")],
                ]
                for change in hostile {
                    let args = valid.merging(change) { $1 }
                    do {
                        _ = try await handler.run(try DeployFixture.context("managepy", args))
                        Issue.record("\(change) was accepted")
                    } catch let failure as TaskFailure {
                        #expect(failure.kind == "bad-args", "\(change): \(failure)")
                    }
                }
                // Well-formed, but no such instance on this host.
                do {
                    _ = try await handler.run(try DeployFixture.context("managepy", valid))
                    Issue.record("an unknown instance was accepted")
                } catch let failure as TaskFailure {
                    #expect(failure.kind == "not-found" && !failure.retryable)
                }
                #expect(!FileSystem.exists(scratch.settings.appsRoot), "nothing was created")
                let hooks = PostDeployHooksHandler(settings: scratch.settings)
                for flag in ["check_schema", "allow_schema_mismatch"] {
                    await #expect(throws: TaskFailure.self) {
                        try await hooks.run(try DeployFixture.context("post_deploy_hooks", [
                            "project": .string("hello"), "instance": .string("b.t1.1"), flag: .string("yes"),
                        ]))
                    }
                }
            }
        }

        @Test func theSchemaResultLineIsFoundAfterWhateverTheSettingsPrint() {
            #expect(SchemaCheck.parse("noise\ndz-schema-ahead\n")?.ahead == [])
            #expect(SchemaCheck.parse("dz-schema-ahead b.0002_x a.0003_y\n")?.ahead == ["a.0003_y", "b.0002_x"])
            #expect(SchemaCheck.parse("nothing here\n") == nil)
            let parsed = SchemaCheck.parse("dz-schema-ahead a.0003_y b.0002_x\ndz-schema-target a.0002_z b.zero\n")
            #expect(parsed?.targets == ["a": "0002_z", "b": "zero"])
            let hint = parsed?.refusal(project: "shop") ?? ""
            #expect(hint.contains("`dz manage --project shop -- migrate a 0002_z`, then `dz manage --project shop -- migrate b zero`"),
                    "\(hint)")
            let many = SchemaCheck(ahead: (1...25).map { "app.%04d_m".replacingOccurrences(of: "%04d", with: "\($0)") })
            let message = many.refusal(project: "shop")
            #expect(message.contains("25 migration(s)") && message.contains("and 5 more"))
            #expect(message.contains("dz manage --project shop -- migrate app <migration>"), "no target printed")
        }
    }
}
