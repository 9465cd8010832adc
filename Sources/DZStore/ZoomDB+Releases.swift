import DZJSON

extension ZoomDB {
    /// Records a release under the project's next number (inside the caller's transaction, so that two jobs
    /// ending at once cannot take the same number). A second record of the same job is ignored. Returns the number.
    @discardableResult
    public func recordRelease(_ release: ReleaseRecord) throws -> Int {
        if let job = release.job,
           let existing = try database.query("SELECT number FROM releases WHERE job = ?", [job]).first?.int("number")
        {
            return Int(existing)
        }
        let last = try database.query("SELECT max(number) AS n FROM releases WHERE project = ?", [release.project])
            .first?.int("n") ?? 0
        let number = Int(last) + 1
        try database.query("""
            INSERT INTO releases (project, number, kind, description, bundle, sha256, revision, wsgi, static,
                                  hostnames, config_version, instances, workers, client_max_body_size, result, job,
                                  issued_by, created)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [release.project, number, release.kind, release.description, release.bundle, release.sha256,
                  release.revision, release.wsgi, release.staticFiles.jsonText,
                  JSONValue.array(release.hostnames.map { .string($0) }).jsonText, release.configVersion,
                  release.instances, release.workers, release.clientMaxBodySize, release.result, release.job, release.issuedBy,
                  release.created.rfc3339])
        return number
    }

    /// The project's releases, newest first.
    public func releases(of project: String, limit: Int = 1000) throws -> [ReleaseRecord] {
        try database.query("SELECT * FROM releases WHERE project = ? ORDER BY number DESC LIMIT ?", [project, limit])
            .map(ReleaseRecord.init(row:))
    }

    public func release(of project: String, number: Int) throws -> ReleaseRecord? {
        try database.query("SELECT * FROM releases WHERE project = ? AND number = ?", [project, number]).first
            .map(ReleaseRecord.init(row:))
    }

    /// The newest succeeded release: what is live.
    public func currentRelease(of project: String) throws -> ReleaseRecord? {
        try database.query("""
            SELECT * FROM releases WHERE project = ? AND result = 'succeeded' ORDER BY number DESC LIMIT 1
            """, [project]).first.map(ReleaseRecord.init(row:))
    }
}
