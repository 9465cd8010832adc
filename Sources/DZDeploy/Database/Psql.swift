import DZSystem
import Foundation

/// One psql run as the server's admin: `psql -X -q -v ON_ERROR_STOP=1 -w -h HOST -p PORT -U USER -d DB` with
/// the SQL on standard input. Each run is one connection that ends when psql exits, so the superuser connection is
/// never left open. No password is ever on the command line: the admin's comes from its passfile (`PGPASSFILE`),
/// and the apps' go into SQL only as SCRAM verifiers.
struct Psql: Sendable {
    let server: PostgresServer

    /// Runs `sql` in `database` and returns what it printed (unaligned, tuples only: one row a line, `|` between
    /// columns). A failure's message holds the tail of psql's output with every string in `secrets` replaced by
    /// `***`: the server quotes a failing statement back (`LINE 1: ...`), and no secret may reach a job log.
    func run(_ sql: String, database: String, step: String, secrets: [String] = []) async throws(DatabaseError)
        -> String
    {
        let executable = try Psql.locate(server.psql)
        let arguments = [executable, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-w",
                         "-h", server.adminHost, "-p", String(server.adminPort), "-U", server.adminUser,
                         "-d", database]
        let outcome: Subprocess.Outcome
        do {
            outcome = try await Subprocess.run(arguments, environment: environment, input: Array(sql.utf8),
                                               timeout: server.timeout)
        } catch {
            throw .failed(step, "\(error)")
        }
        switch outcome.ending {
        case .exited(0):
            return outcome.stdoutText
        case .timedOut:
            throw .timedOut(step, server.timeout)
        case .cancelled:
            throw .failed(step, "cancelled")
        default:
            throw .failed(step, Psql.scrub(outcome.tail(8), secrets: secrets))
        }
    }

    /// psql's environment: nothing of the agent's `PG*` variables (above all no `PGPASSWORD`), the admin
    /// passfile if there is one, a connect time-out, English messages, and no notices.
    var environment: [String: String] {
        let inherited = ProcessInfo.processInfo.environment
        var environment = [
            "PATH": inherited["PATH"] ?? "/usr/bin:/bin",
            "HOME": inherited["HOME"] ?? "/nonexistent",
            "LC_ALL": "C",
            "PGAPPNAME": "dz",
            "PGCONNECT_TIMEOUT": "10",
            "PGOPTIONS": "-c client_min_messages=warning",
        ]
        if let passfile = server.adminPassfile { environment["PGPASSFILE"] = passfile }
        return environment
    }

    /// `text` with every secret replaced by `***`.
    static func scrub(_ text: String, secrets: [String]) -> String {
        secrets.filter { !$0.isEmpty }.reduce(text) { $0.replacingOccurrences(of: $1, with: "***") }
    }

    /// The psql program: `program` if it is a path, else found on PATH, else the newest
    /// `/usr/lib/postgresql/<version>/bin/psql` (Debian keeps the server's tools there).
    static func locate(_ program: String) throws(DatabaseError) -> String {
        if let found = Subprocess.locate(program) { return found }
        if !program.contains("/") {
            let versions = ((try? FileSystem.names(in: "/usr/lib/postgresql")) ?? [])
                .compactMap { Int($0) }.sorted(by: >)
            for version in versions {
                let candidate = "/usr/lib/postgresql/\(version)/bin/\(program)"
                if let found = Subprocess.locate(candidate) { return found }
            }
        }
        throw .toolMissing(program)
    }
}
