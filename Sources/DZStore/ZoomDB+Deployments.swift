import DZSystem

extension ZoomDB {
    /// Records a started instance (a second record of the same instance is ignored: a retried result).
    public func recordDeployment(_ record: DeploymentRecord) throws {
        try database.query("""
            INSERT OR IGNORE INTO deployments (project, bundle, appserver, instance, host, port, user, job, created)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [record.project, record.bundle, record.appserver, record.instance, record.host, record.port,
                  record.user, record.job, record.created.rfc3339])
    }

    /// The project's instances that have not been stopped, oldest first.
    public func activeDeployments(of project: String) throws -> [DeploymentRecord] {
        try database.query("""
            SELECT * FROM deployments WHERE project = ? AND deactivated IS NULL ORDER BY created, id
            """, [project]).map(DeploymentRecord.init(row:))
    }

    /// Every deployment of the project, stopped ones included, oldest first.
    public func deployments(of project: String) throws -> [DeploymentRecord] {
        try database.query("SELECT * FROM deployments WHERE project = ? ORDER BY created, id", [project])
            .map(DeploymentRecord.init(row:))
    }

    /// How many active instances each appserver runs, for placement.
    public func activeInstanceCounts() throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for row in try database.query("""
            SELECT appserver, count(*) AS n FROM deployments WHERE deactivated IS NULL GROUP BY appserver
            """) {
            counts[row.string("appserver") ?? ""] = Int(row.int("n") ?? 0)
        }
        return counts
    }

    /// Marks instances stopped.
    public func deactivateDeployments(_ instances: [String], at time: Timestamp = .now()) throws {
        for instance in instances {
            try database.query("UPDATE deployments SET deactivated = ? WHERE instance = ? AND deactivated IS NULL",
                               [time.rfc3339, instance])
        }
    }

    /// The project's Django `SECRET_KEY`, made on first use (50 random characters) and kept in the zoomdb so that
    /// every instance of the app on every appserver signs sessions with the same key.
    public func secretKey(of project: String) throws -> String {
        // Read first: the coordinator asks on every planning pass of a deploy, and only the first may write.
        if let key = try database.query("SELECT secret_key FROM projects WHERE id = ?", [project]).first?
            .string("secret_key"), !key.isEmpty
        {
            return key
        }
        // 64 characters: every byte maps to one without bias.
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
        let key = String(Host.randomBytes(50).map { alphabet[Int($0) % alphabet.count] })
        try upsertProject(project, sourceURL: nil, title: nil)
        try database.query("UPDATE projects SET secret_key = ? WHERE id = ?", [key, project])
        return key
    }
}

extension ZoomDB {
    /// The projects with running instances on `appserver`.
    public func projects(withInstancesOn appserver: String) throws -> [String] {
        try database.query("""
            SELECT DISTINCT project FROM deployments WHERE appserver = ? AND deactivated IS NULL ORDER BY project
            """, [appserver]).compactMap { $0.string("project") }
    }
}

extension ZoomDB {
    /// Active instances by appserver, then by project.
    public func activeInstancesByAppserver() throws -> [String: [String: Int]] {
        var result: [String: [String: Int]] = [:]
        for row in try database.query("""
            SELECT appserver, project, count(*) AS n FROM deployments WHERE deactivated IS NULL
            GROUP BY appserver, project
            """) {
            result[row.string("appserver") ?? "", default: [:]][row.string("project") ?? ""] = Int(row.int("n") ?? 0)
        }
        return result
    }

    /// Every project the zoomdb knows of: with a record, a release, a bundle or an instance.
    public func knownProjects() throws -> [String] {
        try database.query("""
            SELECT id AS project FROM projects UNION SELECT project FROM releases UNION SELECT project FROM bundles
            UNION SELECT project FROM deployments ORDER BY project
            """).compactMap { $0.string("project") }
    }
}
