import DZSpool
import DZSystem

/// Host names and who owns them. A project's names are the ones its last succeeded release put live
/// (`virtual_hostnames`); a running job that puts names live claims them first (`hostname_claims`), when its
/// placement succeeds, in the coordinator's transaction. A name is never held by two projects, and neither are
/// two names that overlap (`Hostname.overlaps`: a name and another project's wildcard over it).
extension ZoomDB {
    /// The project's host names, as its last succeeded release set them.
    public func hostnames(of project: String) throws -> [String] {
        try database.query("SELECT hostname FROM virtual_hostnames WHERE project = ? ORDER BY id", [project])
            .compactMap { $0.string("hostname") }
    }

    /// The project that has `hostname` live, if any.
    public func project(owningHostname hostname: String) throws -> String? {
        try database.query("SELECT project FROM virtual_hostnames WHERE hostname = ?", [hostname]).first?
            .string("project")
    }

    /// Replaces the project's host names (a succeeded release). A name another project has live is refused
    /// (`HostnameConflict`): it was claimed first, so this only happens to a zoomdb from before claims.
    public func setHostnames(of project: String, _ hostnames: [String]) throws {
        try atomically {
            try database.query("DELETE FROM virtual_hostnames WHERE project = ?", [project])
            for hostname in hostnames {
                if let owner = try self.project(owningHostname: hostname) {
                    throw HostnameConflict(hostname: hostname, other: hostname, owner: owner, job: nil)
                }
                try database.query("INSERT INTO virtual_hostnames (project, hostname, is_wildcard) VALUES (?, ?, ?)",
                                   [project, hostname, hostname.hasPrefix("*.")])
            }
        }
    }

    /// Every host name a project other than `project` has live or is putting live (claimed by a running job),
    /// with that project.
    public func hostnameOwners(except project: String) throws -> [String: String] {
        var owners: [String: String] = [:]
        for holder in try hostnameHolders(except: project) { owners[holder.name] = holder.project }
        return owners
    }

    /// Claims `hostnames` for `project`'s running job `job`, atomically: either none is claimed and
    /// `HostnameConflict` names the first one that overlaps a name another project has live or has claimed
    /// through a running job, or all are recorded as this job's claims (replacing its earlier ones). Claims of
    /// jobs that have ended do not count (`releaseHostnameClaims` removes them, but a crash may leave some).
    /// Names that are not valid host names are refused with `BadInput`.
    public func claimHostnames(_ hostnames: [String], project: String, job: String) throws {
        let wanted = try hostnames.map { text throws(BadInput) in try Hostname(text) }
        try atomically {
            let others = try hostnameHolders(except: project).compactMap { holder in
                (try? Hostname(holder.name)).map { (name: $0, holder: holder) }
            }
            for name in wanted {
                if let (other, holder) = others.first(where: { $0.name.overlaps(name) }) {
                    throw HostnameConflict(hostname: name.rawValue, other: other.rawValue, owner: holder.project,
                                           job: holder.job)
                }
            }
            try database.query("DELETE FROM hostname_claims WHERE job = ?", [job])
            let now = Timestamp.now().rfc3339
            for name in wanted {
                try database.query("""
                    INSERT INTO hostname_claims (hostname, project, job, created) VALUES (?, ?, ?, ?)
                    ON CONFLICT(hostname) DO UPDATE SET project = excluded.project, job = excluded.job,
                                                        created = excluded.created
                    """, [name.rawValue, project, job, now])
            }
        }
    }

    /// The names `job` has claimed.
    public func hostnameClaims(of job: String) throws -> [String] {
        try database.query("SELECT hostname FROM hostname_claims WHERE job = ? ORDER BY hostname", [job])
            .compactMap { $0.string("hostname") }
    }

    /// Drops `job`'s claims (the job has ended: its names are now its project's, or nobody's).
    public func releaseHostnameClaims(of job: String) throws {
        try database.query("DELETE FROM hostname_claims WHERE job = ?", [job])
    }

    /// Names other projects hold: live, or claimed by a job that still runs (`job` set).
    private func hostnameHolders(except project: String) throws -> [(name: String, project: String, job: String?)] {
        let live = try database.query("SELECT hostname, project FROM virtual_hostnames WHERE project != ?", [project])
        let claimed = try database.query("""
            SELECT c.hostname, c.project, c.job FROM hostname_claims c JOIN jobs j ON j.id = c.job
            WHERE c.project != ? AND j.state = 'running'
            """, [project])
        return (live + claimed).map { row in
            (row.string("hostname") ?? "", row.string("project") ?? "", row.string("job"))
        }
    }

    /// Runs `body` in a savepoint: all of it or none, inside the caller's transaction (the coordinator's) or on
    /// its own.
    func atomically<T>(_ body: () throws -> T) throws -> T {
        try database.execute("SAVEPOINT dz_atomically")
        do {
            let value = try body()
            try database.execute("RELEASE dz_atomically")
            return value
        } catch {
            try? database.execute("ROLLBACK TO dz_atomically")
            try? database.execute("RELEASE dz_atomically")
            throw error
        }
    }
}
