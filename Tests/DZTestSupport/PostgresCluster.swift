import DZSystem
import DZDeploy
import Foundation
import Testing
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A real PostgreSQL cluster for the tests, on 127.0.0.1 at a free port, made in a temporary directory and
/// removed at the end.
///
/// `initdb` runs as the `postgres` user (it refuses root) with `-A scram-sha-256` and the superuser's password from
/// a `--pwfile`, so that every connection, the apps' too, must give a real password: with trust authentication a
/// role's password could not be tested. Layout of the temporary directory (root's, mode 0755):
/// `admin.pgpass` (root's, 0600: the superuser's password for dz), and `pg/` (postgres's, 0700) holding `data/`,
/// `socket/` and `log`. Missing PostgreSQL is a failure (with what to install), never a skip.
public struct PostgresCluster: Sendable {
    public enum Failure: Error, CustomStringConvertible {
        case notInstalled(String)
        case failed(String)

        public var description: String {
            switch self {
            case .notInstalled(let what):
                "PostgreSQL is not installed (\(what)): apt-get install postgresql"
            case .failed(let why): "cannot start the test PostgreSQL cluster: \(why)"
            }
        }
    }

    public let root: String
    public let binDirectory: String
    public let port: Int
    public let superuserPassword: String
    /// The address the server listens on (127.0.0.1 unless it runs on a cluster's host).
    public var host: String = "127.0.0.1"

    public var dataDirectory: String { root + "/pg/data" }
    public var adminPassfile: String { root + "/admin.pgpass" }

    /// The cluster as dz's settings name it: the superuser over TCP, with the passfile.
    public var server: PostgresServer {
        PostgresServer(adminHost: host, adminPort: port, adminUser: "postgres", adminPassfile: adminPassfile,
                       psql: binDirectory + "/psql", timeout: 60)
    }

    /// The cluster the current suite runs against (`.postgresCluster`).
    @TaskLocal public static var current: PostgresCluster?

    /// The directory holding `initdb`, `pg_ctl`, `postgres` and `psql`: where `initdb` on PATH really lives, else
    /// the newest `/usr/lib/postgresql/<version>/bin`.
    public static func findBinaries() throws -> String {
        var candidates: [String] = []
        if let initdb = Subprocess.locate("initdb"), let real = try? FileSystem.resolve(initdb) {
            candidates.append((real as NSString).deletingLastPathComponent)
        }
        let versions = ((try? FileSystem.names(in: "/usr/lib/postgresql")) ?? []).compactMap { Int($0) }
        candidates += versions.sorted(by: >).map { "/usr/lib/postgresql/\($0)/bin" }
        for directory in candidates
            where ["initdb", "pg_ctl", "postgres", "psql"].allSatisfy({ access(directory + "/" + $0, X_OK) == 0 })
        {
            return directory
        }
        throw Failure.notInstalled("no initdb, pg_ctl, postgres and psql on PATH or in /usr/lib/postgresql/*/bin")
    }

    /// Makes and starts a cluster; a port taken between choosing and binding it gets another try.
    ///
    /// On a `Cluster`'s host: `launcher` runs the server in the host's namespace (`ip netns exec <ns>`), `host`
    /// is the address it listens on, and `allowedNetwork` (a CIDR) may connect with a password.
    public static func start(host: String = "127.0.0.1", allowedNetwork: String? = nil, launcher: [String] = [])
        async throws -> PostgresCluster
    {
        let binaries = try findBinaries()
        guard (try await Subprocess.run(["id", "-u", "postgres"], timeout: 10)).succeeded else {
            throw Failure.notInstalled("no postgres user")
        }
        let root = "/tmp/dz-pg-" + UUID().uuidString
        let password = String((0..<24).map { _ in "abcdefghijkmnopqrstuvwxyz23456789".randomElement()! })
        do {
            try FileSystem.makeDirectory(root, mode: 0o755)
            try FileSystem.setMode(root, 0o755)
            try FileSystem.makeDirectory(root + "/pg", mode: 0o700)
            try FileSystem.makeDirectory(root + "/pg/socket", mode: 0o700)
            try FileIO.create(root + "/pg/pwfile", bytes: Array((password + "\n").utf8), mode: 0o600, sync: false)
            try await run(["chown", "-R", "postgres:postgres", root + "/pg"], "chown")
            try await run(["runuser", "-u", "postgres", "--", binaries + "/initdb", "-D", root + "/pg/data",
                           "-U", "postgres", "-A", "scram-sha-256", "--pwfile", root + "/pg/pwfile", "--no-sync",
                           "-E", "UTF8", "--locale=C"], "initdb")
            try FileSystem.unlink(root + "/pg/pwfile")
            if let allowedNetwork {
                let hba = root + "/pg/data/pg_hba.conf"
                var rules = try FileIO.readAll(hba)
                rules += Array("host all all \(allowedNetwork) scram-sha-256\n".utf8)
                try? FileSystem.unlink(hba)
                try FileIO.create(hba, bytes: rules, mode: 0o600, sync: false)
                try await run(["chown", "postgres:postgres", hba], "chown pg_hba.conf")
            }
            var lastError: (any Error)?
            for _ in 0..<3 {
                let port = try FreePort.loopback()
                do {
                    try await run(launcher + ["runuser", "-u", "postgres", "--", binaries + "/pg_ctl", "-D", root + "/pg/data",
                                   "-l", root + "/pg/log", "-w", "-t", "60", "-o",
                                   "-c listen_addresses=\(host) -p \(port) -k \(root)/pg/socket -c fsync=off "
                                       + "-c full_page_writes=off -c synchronous_commit=off -c max_connections=40",
                                   "start"], "pg_ctl start")
                } catch {
                    lastError = error
                    continue
                }
                try FileIO.create(root + "/admin.pgpass",
                                  bytes: Array("\(host):\(port):*:postgres:\(password)\n".utf8), mode: 0o600,
                                  sync: false)
                return PostgresCluster(root: root, binDirectory: binaries, port: port, superuserPassword: password,
                                       host: host)
            }
            throw lastError ?? Failure.failed("no port")
        } catch {
            let log = (try? FileIO.readAll(root + "/pg/log")).map { String(decoding: $0.suffix(2000), as: UTF8.self) }
            _ = try? await Subprocess.run(["rm", "-rf", "--", root], timeout: 60)
            if let log, !log.isEmpty { throw Failure.failed("\(error)\nserver log:\n\(log)") }
            throw error
        }
    }

    /// Stops the server at once (`-m immediate`: nothing of it is kept) and removes its directory.
    public func stop() async {
        _ = try? await Subprocess.run(["runuser", "-u", "postgres", "--", binDirectory + "/pg_ctl", "-D",
                                       dataDirectory, "stop", "-m", "immediate", "-w"], timeout: 60)
        _ = try? await Subprocess.run(["rm", "-rf", "--", root], timeout: 60)
    }

    /// Runs `sql` through psql as `user` (the password, if any, in `PGPASSWORD` of that psql only, as an app
    /// would pass it) in `database`, over TCP.
    public func psql(_ sql: String, user: String, password: String?, database: String) async throws -> Subprocess.Outcome {
        var environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "LC_ALL": "C",
                           "PGPASSFILE": "/dev/null", "PGCONNECT_TIMEOUT": "10"]
        if let password { environment["PGPASSWORD"] = password }
        return try await Subprocess.run([binDirectory + "/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                                         "-w", "-h", host, "-p", String(port), "-U", user, "-d", database],
                                        environment: environment, input: Array(sql.utf8), timeout: 60)
    }

    /// Runs `sql` as the superuser and returns its output, requiring success.
    public func query(_ sql: String, database: String = "postgres") async throws -> String {
        let outcome = try await psql(sql, user: "postgres", password: superuserPassword, database: database)
        try #require(outcome.succeeded, "psql as postgres: \(outcome.tail())")
        return outcome.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private static func run(_ arguments: [String], _ step: String) async throws {
        let outcome = try await Subprocess.run(arguments, timeout: 120)
        guard outcome.succeeded else { throw Failure.failed("\(step): \(outcome.ending): \(outcome.tail(10))") }
    }

}

/// Runs a suite inside one real PostgreSQL cluster (`PostgresCluster.current`), started before its first test and
/// stopped after its last.
public struct PostgresClusterTrait: SuiteTrait, TestScoping {
    public var isRecursive: Bool { false }

    public func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void)
        async throws
    {
        let cluster = try await PostgresCluster.start()
        do {
            try await PostgresCluster.$current.withValue(cluster) { try await function() }
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }
}

extension Trait where Self == PostgresClusterTrait {
    /// A real PostgreSQL cluster for the suite's tests.
    public static var postgresCluster: Self { Self() }
}
