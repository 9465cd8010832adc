import DZAgent
@testable import DZBuild
@testable import DZDeploy
import DZSpool
import DZSystem
import DZTestSupport
@testable import DZWork
import Foundation
import Logging
import Synchronization
import Testing

/// create_database and drop_database: against a real PostgreSQL cluster (`PostgresCluster`), and with SQLite.
@Suite struct DatabaseTests {
    @Suite(.postgresCluster) struct PostgreSQL {
        @Test func createThenCreateAgainReturnsTheSameDatabaseAndPassword() async throws {
            try await withDatabaseHost { host in
                let first = try await host.create("alpha")
                #expect(first["engine"] == .string("postgresql"))
                #expect(first["name"] == .string("app_alpha"))
                #expect(first["user"] == .string("app_alpha"))
                #expect(first["host"] == .string("127.0.0.1"))
                #expect(first["port"] == .int(Int64(host.cluster.port)))
                #expect(first["just_created"] == .bool(true))
                #expect(first["password_reset"] == .bool(false))
                let password = try #require(first["password"]?.stringValue)
                #expect(password.count == 32)
                #expect(password.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })

                let second = try await host.create("alpha")
                #expect(second["just_created"] == .bool(false))
                #expect(second["password_reset"] == .bool(false))
                for key in ["name", "user", "password", "host", "port"] { #expect(second[key] == first[key]) }

                let file = host.workspace.passwordFile(try ProjectID("alpha"))
                #expect(try mode(of: file) == 0o600)
                #expect(try mode(of: host.workspace.databasesDirectory) == 0o700)
                let line = String(decoding: try FileIO.readAll(file), as: UTF8.self)
                #expect(line == "127.0.0.1:\(host.cluster.port):app_alpha:app_alpha:\(password)\n")
            }
        }

        @Test func appRoleLogsInWithItsPasswordAndCreatesATable() async throws {
            try await withDatabaseHost { host in
                let created = try await host.create("bravo")
                let password = try #require(created["password"]?.stringValue)
                let work = try await host.cluster.psql("""
                    CREATE TABLE notes (id serial PRIMARY KEY, body text);
                    INSERT INTO notes (body) VALUES ('hello');
                    SELECT body FROM notes;
                    """, user: "app_bravo", password: password, database: "app_bravo")
                #expect(work.succeeded, "\(work.tail())")
                #expect(work.stdoutText == "hello\n")

                let wrong = try await host.cluster.psql("SELECT 1;", user: "app_bravo",
                                                        password: String(password.reversed()), database: "app_bravo")
                #expect(!wrong.succeeded)
                #expect(wrong.stderrText.contains("password authentication failed"))
            }
        }

        @Test func appRoleCannotCreateDatabasesOrRoles() async throws {
            try await withDatabaseHost { host in
                let password = try #require(try await host.create("charlie")["password"]?.stringValue)
                let database = try await host.cluster.psql("CREATE DATABASE charlie_extra;", user: "app_charlie",
                                                           password: password, database: "app_charlie")
                #expect(!database.succeeded)
                #expect(database.stderrText.contains("permission denied to create database"))
                let role = try await host.cluster.psql("CREATE ROLE intruder;", user: "app_charlie",
                                                       password: password, database: "app_charlie")
                #expect(!role.succeeded)
                #expect(role.stderrText.contains("permission denied to create role"))
                let flags = try await host.cluster.query(
                    "SELECT rolsuper, rolcreatedb, rolcreaterole, rolinherit, rolcanlogin FROM pg_roles "
                        + "WHERE rolname = 'app_charlie';")
                #expect(flags == "f|f|f|f|t")
            }
        }

        @Test func appCannotConnectToAnotherAppsDatabase() async throws {
            try await withDatabaseHost { host in
                let deltaPassword = try #require(try await host.create("delta")["password"]?.stringValue)
                _ = try await host.create("echo")
                let crossing = try await host.cluster.psql("SELECT 1;", user: "app_delta", password: deltaPassword,
                                                           database: "app_echo")
                #expect(!crossing.succeeded)
                #expect(crossing.stderrText.contains("permission denied for database \"app_echo\""),
                        "\(crossing.stderrText)")
                let privileges = try await host.cluster.query(
                    "SELECT datacl FROM pg_database WHERE datname = 'app_echo';")
                #expect(!privileges.contains("=c") && !privileges.contains("=Tc"), "PUBLIC keeps a privilege: \(privileges)")
            }
        }

        @Test(arguments: ["alpha; DROP ROLE postgres", "x\"; --", "o'brien", "../etc", "Upper", "a b", "",
                          "-h", String(repeating: "a", count: 31), "app\\x", "ünïcode"])
        func hostileProjectIdIsRefusedBeforeAnySQL(_ project: String) async throws {
            try await FixtureSupport.withScratchDirectory { scratch in
                // A psql that only records that it ran: not one run may happen.
                let marker = scratch + "/psql-ran"
                let fake = scratch + "/psql"
                try FileIO.create(fake, bytes: Array("#!/bin/sh\ntouch \(marker)\nexit 1\n".utf8), mode: 0o755,
                                  sync: false)
                let cluster = try #require(PostgresCluster.current)
                var server = cluster.server
                server.psql = fake
                let settings = DatabaseSettings(postgres: server)
                let workspace = Workspace(root: scratch + "/data")
                for handler in [CreateDatabaseHandler(workspace: workspace, settings: settings) as any TaskHandler,
                                DropDatabaseHandler(workspace: workspace, settings: settings)]
                {
                    do {
                        _ = try await handler.run(context(handler.name, ["project": .string(project)]))
                        Issue.record("\(handler.name) accepted the project id \"\(project)\"")
                    } catch let failure as TaskFailure {
                        #expect(failure.kind == "bad-args")
                        #expect(failure.message.contains("invalid project id"))
                    }
                }
                #expect(!FileSystem.exists(marker))
                #expect(!FileSystem.exists(workspace.root + "/databases"))
            }
        }

        @Test func dropEndsSessionsAndRemovesDatabaseRoleAndPasswordFile() async throws {
            try await withDatabaseHost { host in
                let password = try #require(try await host.create("foxtrot")["password"]?.stringValue)
                let cluster = host.cluster
                let session = Task {
                    try await cluster.psql("SELECT pg_sleep(60);", user: "app_foxtrot", password: password,
                                           database: "app_foxtrot")
                }
                let deadline = Date().addingTimeInterval(20)
                while try await cluster.query(
                    "SELECT count(*) FROM pg_stat_activity WHERE usename = 'app_foxtrot';") == "0"
                {
                    try #require(Date() < deadline, "the app's session never showed up")
                    try await Task.sleep(nanoseconds: 20_000_000)
                }

                let dropped = try await host.run(DropDatabaseHandler.self, ["project": .string("foxtrot")])
                #expect(dropped == ["engine": .string("postgresql"), "name": .string("app_foxtrot"),
                                    "dropped": .bool(true)])
                let ended = try await session.value
                #expect(!ended.succeeded)
                #expect(try await cluster.query(
                    "SELECT count(*) FROM pg_database WHERE datname = 'app_foxtrot';") == "0")
                #expect(try await cluster.query("SELECT count(*) FROM pg_roles WHERE rolname = 'app_foxtrot';") == "0")
                #expect(!FileSystem.exists(host.workspace.passwordFile(try ProjectID("foxtrot"))))

                let again = try await host.run(DropDatabaseHandler.self, ["project": .string("foxtrot")])
                #expect(again["dropped"] == .bool(false))
            }
        }

        @Test func missingPasswordFileResetsThePassword() async throws {
            try await withDatabaseHost { host in
                let old = try #require(try await host.create("golf")["password"]?.stringValue)
                try FileSystem.unlink(host.workspace.passwordFile(try ProjectID("golf")))
                let again = try await host.create("golf")
                let new = try #require(again["password"]?.stringValue)
                #expect(new != old)
                #expect(again["password_reset"] == .bool(true))
                #expect(again["just_created"] == .bool(false))
                let withNew = try await host.cluster.psql("SELECT 1;", user: "app_golf", password: new,
                                                          database: "app_golf")
                #expect(withNew.succeeded, "\(withNew.tail())")
                let withOld = try await host.cluster.psql("SELECT 1;", user: "app_golf", password: old,
                                                          database: "app_golf")
                #expect(!withOld.succeeded)
                #expect(FileSystem.exists(host.workspace.passwordFile(try ProjectID("golf"))))
            }
        }

        @Test func postgisIsEnabledWhenAvailableElseRefusedClearly() async throws {
            try await withDatabaseHost { host in
                let available = try await host.cluster.query(
                    "SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis';") != "0"
                if available {
                    _ = try await host.create("hotel")
                    let created = try await host.create("hotel", ["postgis": .bool(true)])
                    #expect(created["postgis"] == .bool(true))
                    #expect(try await host.cluster.query("SELECT extname FROM pg_extension WHERE extname = 'postgis';",
                                                         database: "app_hotel") == "postgis")
                    let password = try #require(created["password"]?.stringValue)
                    let spatial = try await host.cluster.psql("""
                        CREATE TABLE places (id serial PRIMARY KEY, location geometry(Point, 4326));
                        INSERT INTO places (location) VALUES (ST_SetSRID(ST_MakePoint(2.35, 48.85), 4326));
                        SELECT ST_AsText(location) FROM places;
                        """, user: "app_hotel", password: password, database: "app_hotel")
                    #expect(spatial.succeeded, "\(spatial.tail())")
                    #expect(spatial.stdoutText == "POINT(2.35 48.85)\n")
                } else {
                    do {
                        _ = try await host.create("hotel", ["postgis": .bool(true)])
                        Issue.record("postgis: true succeeded on a server without PostGIS")
                    } catch let failure as TaskFailure {
                        #expect(failure.kind == "postgis-unavailable")
                        #expect(failure.message.contains("PostGIS is not available"))
                        #expect(!failure.retryable)
                    }
                    // Refused before anything was made.
                    #expect(try await host.cluster.query(
                        "SELECT count(*) FROM pg_roles WHERE rolname = 'app_hotel';") == "0")
                }
            }
        }

        @Test func superuserRoleOfTheSameNameIsNeverTouched() async throws {
            try await withDatabaseHost { host in
                _ = try await host.cluster.query("CREATE ROLE app_india SUPERUSER LOGIN;")
                for handler in [CreateDatabaseHandler.self as any DatabaseHandler.Type, DropDatabaseHandler.self] {
                    do {
                        _ = try await host.run(handler, ["project": .string("india")])
                        Issue.record("\(handler) went ahead with a superuser role")
                    } catch let failure as TaskFailure {
                        #expect(failure.message.contains("superuser"))
                    }
                }
                #expect(try await host.cluster.query("SELECT rolsuper FROM pg_roles WHERE rolname = 'app_india';")
                    == "t")
                _ = try await host.cluster.query("DROP ROLE app_india;")
            }
        }

        @Test func passwordNeverReachesLogsOrErrors() async throws {
            try await withDatabaseHost { host in
                let created = try await host.create("juliet")
                try FileSystem.unlink(host.workspace.passwordFile(try ProjectID("juliet")))
                let reset = try await host.create("juliet")
                _ = try await host.run(DropDatabaseHandler.self, ["project": .string("juliet")])
                let passwords = try [created, reset].map { try #require($0["password"]?.stringValue) }
                let log = host.log.text
                #expect(log.contains("database ready"))
                for password in passwords { #expect(!log.contains(password)) }
                #expect(!log.contains("SCRAM-SHA-256$"))

                // The server quotes a failing statement back; the error carries it scrubbed.
                let secret = RolePassword.generate().text
                let psql = Psql(server: host.cluster.server)
                do {
                    _ = try await psql.run("SELECT '\(secret)' +;", database: "postgres", step: "a bad statement",
                                           secrets: [secret])
                    Issue.record("a syntax error succeeded")
                } catch let error as DatabaseError {
                    #expect(error.description.contains("syntax error"))
                    #expect(error.description.contains("***"))
                    #expect(!error.description.contains(secret))
                }
            }
        }
    }

    @Suite struct SQLite {
        @Test func createsAnEmptyFileThenFindsItAndDropRemovesIt() async throws {
            try await FixtureSupport.withScratchDirectory { scratch in
                let workspace = Workspace(root: scratch + "/data")
                let handler = CreateDatabaseHandler(workspace: workspace)
                let created = try await handler.run(context("create_database", ["project": .string("kilo")]))
                let file = try FileSystem.resolve(scratch) + "/data/apps/kilo/db.sqlite3"
                #expect(created["engine"] == .string("sqlite"))
                #expect(created["name"] == .string(file))
                #expect(created["just_created"] == .bool(true))
                for key in ["user", "password", "host", "port"] { #expect(created[key] == .null) }
                #expect(try FileSystem.status(file).size == 0)
                #expect(try mode(of: scratch + "/data/apps/kilo") == 0o700)
                #expect(try mode(of: file) == 0o600)

                let again = try await handler.run(context("create_database", ["project": .string("kilo")]))
                #expect(again["just_created"] == .bool(false))
                #expect(again["name"] == .string(file))

                let drop = DropDatabaseHandler(workspace: workspace)
                let dropped = try await drop.run(context("drop_database", ["project": .string("kilo"),
                                                                            "engine": .string("sqlite")]))
                #expect(dropped["dropped"] == .bool(true))
                #expect(!FileSystem.exists(file))
                let twice = try await drop.run(context("drop_database", ["project": .string("kilo")]))
                #expect(twice["dropped"] == .bool(false))
            }
        }

        @Test func postgresqlOnAHostWithoutAServerFailsClearly() async throws {
            let handler = CreateDatabaseHandler(workspace: Workspace(root: "/nonexistent"))
            do {
                _ = try await handler.run(context("create_database", ["project": .string("lima"),
                                                                      "engine": .string("postgresql")]))
                Issue.record("created a PostgreSQL database with no server configured")
            } catch let failure as TaskFailure {
                #expect(failure.kind == "database-settings")
                #expect(failure.message.contains("--pg-admin-host"))
            }
        }

        @Test(arguments: [
            (["project": JSONValue.string("mike"), "engine": .string("mysql")], "engine must be postgresql or sqlite"),
            (["project": .string("mike"), "postgis": .string("yes")], "\"postgis\" must be a boolean"),
            (["project": .string("mike"), "postgis": .bool(true)], "postgis needs engine postgresql"),
            (["engine": .string("sqlite")], "missing argument \"project\""),
        ])
        func badArgumentsAreRefused(_ args: [String: JSONValue], _ message: String) async throws {
            let handler = CreateDatabaseHandler(workspace: Workspace(root: "/nonexistent"))
            do {
                _ = try await handler.run(context("create_database", args))
                Issue.record("accepted \(args)")
            } catch let failure as TaskFailure {
                #expect(failure.kind == "bad-args")
                #expect(failure.message.contains(message), "\(failure.message)")
            }
        }
    }

    @Suite struct Parts {
        @Test func settingsComeFromFlagsThenEnvironment() throws {
            let none = try DatabaseSettings.resolve(environment: [:])
            #expect(none == DatabaseSettings())
            #expect(none.defaultEngine == .sqlite)

            let fromEnvironment = try DatabaseSettings.resolve(environment: [
                "DZ_PG_ADMIN_HOST": "/var/run/postgresql", "DZ_PG_ADMIN_PORT": "5433", "DZ_PG_APP_HOST": "db.internal",
            ])
            let server = try #require(fromEnvironment.postgres)
            #expect(fromEnvironment.defaultEngine == .postgresql)
            #expect(server.adminHost == "/var/run/postgresql")
            #expect(server.adminPort == 5433)
            #expect(server.adminUser == "postgres")
            #expect(server.appHost == "db.internal")
            #expect(server.appPort == 5433)

            let flags = try DatabaseSettings.resolve(engine: "sqlite", adminHost: "10.0.0.5", adminUser: "dz",
                                                     environment: ["DZ_PG_ADMIN_HOST": "ignored"])
            #expect(flags.defaultEngine == .sqlite)
            #expect(flags.postgres?.adminHost == "10.0.0.5")
            #expect(flags.postgres?.appHost == "10.0.0.5")
            #expect(flags.postgres?.adminUser == "dz")

            #expect(throws: DatabaseError.self) { try DatabaseSettings.resolve(adminHost: "h", adminPort: "0", environment: [:]) }
            #expect(throws: DatabaseError.self) { try DatabaseSettings.resolve(engine: "postgresql", environment: [:]) }
            #expect(throws: DatabaseError.self) { try DatabaseSettings.resolve(adminUser: "dz", environment: [:]) }
            #expect(throws: DatabaseError.self) { try DatabaseSettings.resolve(engine: "oracle", environment: [:]) }
        }

        @Test func adminPassfileReadableByOthersIsRefused() async throws {
            try await FixtureSupport.withScratchDirectory { scratch in
                let passfile = scratch + "/admin.pgpass"
                try FileIO.create(passfile, bytes: Array("*:*:*:postgres:x\n".utf8), mode: 0o600, sync: false)
                _ = try DatabaseSettings.resolve(adminHost: "h", adminPassfile: passfile, environment: [:])
                try FileSystem.setMode(passfile, 0o644)
                #expect(throws: DatabaseError.self) {
                    try DatabaseSettings.resolve(adminHost: "h", adminPassfile: passfile, environment: [:])
                }
                #expect(throws: DatabaseError.self) {
                    try DatabaseSettings.resolve(adminHost: "h", adminPassfile: scratch + "/missing", environment: [:])
                }
            }
        }

        @Test func scramVerifierMatchesAnIndependentImplementation() {
            // From Python's hashlib.pbkdf2_hmac and hmac, following RFC 5802.
            #expect(RolePassword.scramVerifier(password: "pencil", salt: Array(0..<16), iterations: 4096)
                == "SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$zHCdol2044/ZyWzPLi7oxApCkamKw9Z+E4U/QApd/5Y="
                + ":dd5peBOitVnLNFu7VmwP+HiDaaw4OUCv396eVCWhYiE=")
        }

        @Test func generatedPasswordsAreLongAlphanumericAndDistinct() {
            let passwords = (0..<200).map { _ in RolePassword.generate().text }
            #expect(Set(passwords).count == passwords.count)
            #expect(passwords.allSatisfy { RolePassword($0) != nil })
            #expect(RolePassword("short") == nil)
            #expect(RolePassword(String(repeating: "a", count: 31) + "!") == nil)
        }

        @Test func quotingFollowsPostgresRules() {
            #expect(SQLText.identifier("app_x") == "\"app_x\"")
            #expect(SQLText.identifier("a\"b") == "\"a\"\"b\"")
            #expect(SQLText.literal("abc") == "'abc'")
            #expect(SQLText.literal("o'brien") == "'o''brien'")
            #expect(SQLText.literal("a\\b'c") == "E'a\\\\b''c'")
            #expect(SQLText.literal("a\u{0}b") == "'ab'")
        }

        @Test func passwordFileLineRoundTripsEscapedFields() async throws {
            #expect(PasswordFile.split(PasswordFile.escape("::1") + ":5432:d:u:p") == ["::1", "5432", "d", "u", "p"])
            try await FixtureSupport.withScratchDirectory { scratch in
                let file = PasswordFile(path: scratch + "/p.pgpass")
                let password = RolePassword.generate()
                try file.write(.init(host: "::1", port: 5432, database: "app_x", user: "app_x", password: password))
                var damaged = false
                #expect(try file.read(user: "app_x", damaged: &damaged)?.password == password)
                #expect(try file.read(user: "app_y", damaged: &damaged) == nil)
                #expect(damaged)
                #expect(try file.remove())
                #expect(try !file.remove())
            }
        }
    }
}

// MARK: - Support

/// A handler that takes the host's workspace and database settings.
fileprivate protocol DatabaseHandler: TaskHandler {
    init(workspace: Workspace, settings: DatabaseSettings)
}

extension CreateDatabaseHandler: DatabaseHandler {}
extension DropDatabaseHandler: DatabaseHandler {}

/// A database host for one test: the suite's cluster, a fresh data directory, and a log that keeps every line.
fileprivate struct DatabaseHost {
    let cluster: PostgresCluster
    let workspace: Workspace
    let log: LogRecord

    var settings: DatabaseSettings { DatabaseSettings(postgres: cluster.server) }

    func run(_ handler: any DatabaseHandler.Type, _ args: [String: JSONValue]) async throws -> [String: JSONValue] {
        let handler = handler.init(workspace: workspace, settings: settings)
        return try await handler.run(context(handler.name, args, logger: log.logger))
    }

    func create(_ project: String, _ args: [String: JSONValue] = [:]) async throws -> [String: JSONValue] {
        try await run(CreateDatabaseHandler.self, args.merging(["project": .string(project)]) { $1 })
    }
}

fileprivate func withDatabaseHost(_ body: (DatabaseHost) async throws -> Void) async throws {
    let cluster = try #require(PostgresCluster.current, "no PostgreSQL cluster: the suite needs .postgresCluster")
    try await FixtureSupport.withScratchDirectory { scratch in
        try await body(DatabaseHost(cluster: cluster, workspace: Workspace(root: scratch + "/data"), log: LogRecord()))
    }
}

fileprivate func context(_ task: String, _ args: [String: JSONValue],
                         logger: Logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }) -> TaskContext
{
    TaskContext(task: TaskFile(id: try! TaskID("t"), task: task, args: args), queue: try! QueueName("database"),
                host: try! HostID("h"), logger: logger)
}

/// The permission bits of `path`.
fileprivate func mode(of path: String) throws -> Int {
    try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) & 0o7777
}

/// Every log line of a test, level, message and metadata, in memory.
fileprivate final class LogRecord: Sendable {
    private let lines = Mutex<[String]>([])

    var logger: Logger { Logger(label: "test") { _ in RecordingLogHandler(record: self) } }
    var text: String { lines.withLock { $0.joined(separator: "\n") } }
    func append(_ line: String) { lines.withLock { $0.append(line) } }
}

fileprivate struct RecordingLogHandler: LogHandler {
    let record: LogRecord
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        let fields = all.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " ")
        record.append("\(event.level) \(event.message) \(fields) \(event.error.map { "error=\($0)" } ?? "")")
    }
}
