import DZBuild
import DZSpool
import DZSystem
import Foundation
import Logging

/// Makes and drops apps' PostgreSQL databases, as the server's admin, through psql.
///
/// For project `p` the role and the database are both `app_p` (names come from the validated project id only).
/// The role is `LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS`; the database is
/// owned by it, UTF8, and `PUBLIC` has no privilege on it or on its `public` schema, so no other app's role can
/// connect. The password is random (`RolePassword`) and kept in `Workspace.passwordFile` on this host, which is how
/// a second run returns the same password instead of resetting it.
///
/// Order of work in `create`: read the server's state; fail before changing anything if PostGIS is wanted and
/// missing; write a new password file (if a new password is needed) before the role gets that password, so that a
/// crash in between leaves a file whose password the next run sets again; then one psql session that creates or
/// repairs role, database and privileges.
public struct PostgresProvisioner: Sendable {
    public let server: PostgresServer
    public let workspace: Workspace

    public init(server: PostgresServer, workspace: Workspace) {
        self.server = server
        self.workspace = workspace
    }

    /// The role's and the database's name for `project`: `app_<project>` (at most 34 characters, under
    /// PostgreSQL's 63).
    public static func name(for project: ProjectID) -> String { "app_" + project.rawValue }

    /// Gets or creates the project's role and database (and PostGIS in it when `postgis`).
    public func create(_ project: ProjectID, postgis: Bool, logger: Logger) async throws(DatabaseError)
        -> AppDatabase
    {
        let lock = try lockProject(project)
        defer { lock.unlock() }
        let name = PostgresProvisioner.name(for: project)
        let psql = Psql(server: server)

        let state = try await psql.run("""
            SELECT (SELECT count(*) FROM pg_roles WHERE rolname = \(SQLText.literal(name))),
                   (SELECT count(*) FROM pg_database WHERE datname = \(SQLText.literal(name))),
                   (SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis');
            """, database: server.maintenanceDatabase, step: "reading the state of \(name) on \(server.adminAddress)")
        let counts = state.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "|").map { Int($0) ?? 0 }
        guard counts.count == 3 else {
            throw .failed("reading the state of \(name)", "unexpected answer from psql")
        }
        let roleExists = counts[0] > 0, databaseExists = counts[1] > 0
        if postgis, counts[2] == 0 { throw .postgisUnavailable(server: server.adminAddress) }

        let file = PasswordFile(path: workspace.passwordFile(project))
        var damaged = false
        let kept = roleExists ? try file.read(user: name, damaged: &damaged) : nil
        if damaged {
            logger.warning("password file unusable: making a new password", metadata: ["file": "\(file.path)"])
        }
        let password = kept?.password ?? RolePassword.generate()
        if kept == nil {
            try file.write(PasswordFile.Entry(host: server.appHost, port: server.appPort, database: name,
                                              user: name, password: password))
        }
        let passwordReset = roleExists && kept == nil
        if passwordReset {
            logger.notice("role exists but its password file is gone: resetting its password",
                          metadata: ["role": "\(name)"])
        }

        let verifier = kept == nil ? password.scramVerifier() : nil
        _ = try await psql.run(provisioningScript(name: name, roleExists: roleExists, verifier: verifier,
                                              postgis: postgis),
                           database: server.maintenanceDatabase, step: "creating \(name) on \(server.adminAddress)",
                           secrets: [password.text] + (verifier.map { [$0] } ?? []))
        return AppDatabase(engine: .postgresql, host: server.appHost, port: server.appPort, name: name, user: name,
                           password: password.text, justCreated: !databaseExists, passwordReset: passwordReset,
                           postgis: postgis)
    }

    /// Drops the project's database (ending its sessions first) and role, and removes the password file. True if
    /// there was anything to drop. Needs PostgreSQL 13 or later (`DROP DATABASE ... WITH (FORCE)`).
    public func drop(_ project: ProjectID, logger: Logger) async throws(DatabaseError) -> Bool {
        let lock = try lockProject(project)
        defer { lock.unlock() }
        let name = PostgresProvisioner.name(for: project)
        let role = SQLText.identifier(name), literal = SQLText.literal(name)
        let answer = try await Psql(server: server).run("""
            \(refuseSuperuser(name))
            SELECT (SELECT count(*) FROM pg_roles WHERE rolname = \(literal))
                 + (SELECT count(*) FROM pg_database WHERE datname = \(literal));
            -- No new sessions, then end the ones there are (the app's own, and any other in its database).
            SELECT 'ALTER DATABASE \(role) ALLOW_CONNECTIONS false'
             WHERE EXISTS (SELECT 1 FROM pg_database WHERE datname = \(literal)) \\gexec
            SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE (datname = \(literal) OR usename = \(literal)) AND pid <> pg_backend_pid();
            DROP DATABASE IF EXISTS \(role) WITH (FORCE);
            DROP ROLE IF EXISTS \(role);
            """, database: server.maintenanceDatabase, step: "dropping \(name) on \(server.adminAddress)")
        let existed = (Int(answer.split(separator: "\n").first ?? "") ?? 0) > 0
        let hadFile = try PasswordFile(path: workspace.passwordFile(project)).remove()
        logger.info("dropped", metadata: ["database": "\(name)", "existed": "\(existed)"])
        return existed || hadFile
    }

    /// One psql session on the maintenance database, then in the app's database (`\connect`): every statement is
    /// safe to run again, so a run that died half-way is finished by the next.
    func provisioningScript(name: String, roleExists: Bool, verifier: String?, postgis: Bool) -> String {
        let role = SQLText.identifier(name), literal = SQLText.literal(name)
        let attributes = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS"
        var lines = [refuseSuperuser(name)]
        if !roleExists {
            lines.append("CREATE ROLE \(role) \(attributes) PASSWORD \(SQLText.literal(verifier ?? ""));")
        } else {
            lines.append("ALTER ROLE \(role) \(attributes);")
            if let verifier { lines.append("ALTER ROLE \(role) PASSWORD \(SQLText.literal(verifier));") }
        }
        // CREATE DATABASE cannot run in a transaction or a DO block: \gexec runs it only when it is missing.
        // template0, because template1 may have another encoding (a cluster made in the C locale is SQL_ASCII).
        lines += [
            "SELECT 'CREATE DATABASE \(role) OWNER \(role) ENCODING ''UTF8'' TEMPLATE template0'",
            " WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = \(literal)) \\gexec",
            "ALTER DATABASE \(role) OWNER TO \(role);",
            "ALTER DATABASE \(role) ALLOW_CONNECTIONS true;",
            "REVOKE ALL ON DATABASE \(role) FROM PUBLIC;",
            "GRANT CONNECT, TEMPORARY ON DATABASE \(role) TO \(role);",
            "\\connect \(name)",
            // Owning the schema gives the app CREATE in it whatever the server's version defaults to.
            "ALTER SCHEMA public OWNER TO \(role);",
            "REVOKE ALL ON SCHEMA public FROM PUBLIC;",
        ]
        if postgis { lines.append("CREATE EXTENSION IF NOT EXISTS postgis;") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Stops the script if the role is a superuser: an admin's own role is never altered or dropped.
    private func refuseSuperuser(_ name: String) -> String {
        """
        DO $dz$ BEGIN
          IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = \(SQLText.literal(name)) AND rolsuper) THEN
            RAISE EXCEPTION 'role % is a superuser: dz does not touch it', \(SQLText.literal(name));
          END IF;
        END $dz$;
        """
    }

    /// Takes the project's lock on this host (`<data>/databases/<project>.lock`), making the directory (0700).
    private func lockProject(_ project: ProjectID) throws(DatabaseError) -> FileLock {
        let directory = workspace.databasesDirectory
        do {
            try FileSystem.makeDirectories(workspace.root)
            try FileSystem.makeDirectory(directory, mode: 0o700)
            try FileSystem.setMode(directory, 0o700)
        } catch {
            throw .filesystem(directory, error)
        }
        do {
            return try FileLock(path: workspace.databaseLock(project))
        } catch .wouldBlock {
            throw .busy(project.rawValue)
        } catch {
            throw .filesystem(workspace.databaseLock(project), error)
        }
    }
}
