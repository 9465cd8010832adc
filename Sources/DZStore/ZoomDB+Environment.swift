import DZSystem

/// What the zoomdb wants an app to run with, besides its code: the environment set with `dz config` (its
/// version counts the changes), the formation set with `dz scale` (instances, workers), and the host names.
extension ZoomDB {
    /// The app's environment, by name.
    public func environment(of project: String) throws -> [String: String] {
        var environment: [String: String] = [:]
        for row in try database.query("SELECT name, value FROM app_environment WHERE project = ?", [project]) {
            environment[row.string("name") ?? ""] = row.string("value") ?? ""
        }
        return environment
    }

    /// Sets and unsets variables in one transaction and returns the new config version (unchanged when nothing
    /// changed: setting a variable to its value, unsetting one that is not set).
    @discardableResult
    public func changeEnvironment(of project: String, set: [String: String], unset: [String]) throws -> Int {
        try transaction { try applyEnvironmentChange(of: project, set: set, unset: unset) }
    }

    /// `changeEnvironment` inside the caller's transaction (the coordinator's intake of a config request).
    @discardableResult
    public func applyEnvironmentChange(of project: String, set: [String: String], unset: [String]) throws -> Int {
        do {
            try upsertProject(project, sourceURL: nil, title: nil)
            let before = try environment(of: project)
            var changed = false
            for (name, value) in set.sorted(by: { $0.key < $1.key }) where before[name] != value {
                try database.query("""
                    INSERT INTO app_environment (project, name, value) VALUES (?, ?, ?)
                    ON CONFLICT(project, name) DO UPDATE SET value = excluded.value
                    """, [project, name, value])
                changed = true
            }
            for name in unset where before[name] != nil {
                try database.query("DELETE FROM app_environment WHERE project = ? AND name = ?", [project, name])
                changed = true
            }
            if changed {
                try database.query("UPDATE projects SET config_version = config_version + 1, updated = ? WHERE id = ?",
                                   [Timestamp.now().rfc3339, project])
            }
            return try configVersion(of: project)
        }
    }

    public func configVersion(of project: String) throws -> Int {
        Int(try database.query("SELECT config_version FROM projects WHERE id = ?", [project]).first?
            .int("config_version") ?? 0)
    }

    /// The wanted formation: instances and gunicorn workers per instance (nil: not set, the job's default).
    public func formation(of project: String) throws -> (instances: Int?, workers: Int?) {
        guard let row = try database.query("SELECT instances, workers FROM projects WHERE id = ?", [project]).first
        else { return (nil, nil) }
        return (row.int("instances").map(Int.init), row.int("workers").map(Int.init))
    }

    public func setFormation(of project: String, instances: Int?, workers: Int?) throws {
        try upsertProject(project, sourceURL: nil, title: nil)
        try database.query("""
            UPDATE projects SET instances = coalesce(?, instances), workers = coalesce(?, workers) WHERE id = ?
            """, [instances, workers, project])
    }
}
