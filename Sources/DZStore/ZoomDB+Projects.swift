import DZSystem

extension ZoomDB {
    /// Creates the project or updates its source URL and title.
    public func upsertProject(_ id: String, sourceURL: String?, title: String?, at time: Timestamp = .now()) throws {
        try database.query("""
            INSERT INTO projects (id, source_url, title, created, updated) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET source_url = coalesce(excluded.source_url, source_url),
                                          title = coalesce(excluded.title, title), updated = excluded.updated
            """, [id, sourceURL, title, time.rfc3339, time.rfc3339])
    }

    public func project(_ id: String) throws -> ProjectRecord? {
        try database.query("SELECT * FROM projects WHERE id = ?", [id]).first.map(ProjectRecord.init(row:))
    }

    /// Replaces the project's config guesses with the latest inspection's.
    public func replaceGuesses(of project: String, with guesses: [StoredGuess]) throws {
        try database.query("DELETE FROM config_guesses WHERE project = ?", [project])
        for guess in guesses {
            try database.query("""
                INSERT INTO config_guesses (project, field, value, is_primary, basis) VALUES (?, ?, ?, ?, ?)
                """, [project, guess.field, guess.value, guess.isPrimary, guess.basis])
        }
    }

    public func guesses(of project: String) throws -> [StoredGuess] {
        try database.query("SELECT * FROM config_guesses WHERE project = ? ORDER BY id", [project]).map { row in
            StoredGuess(field: row.string("field") ?? "", value: row.string("value") ?? "",
                        isPrimary: row.int("is_primary") == 1, basis: row.string("basis") ?? "")
        }
    }
}
