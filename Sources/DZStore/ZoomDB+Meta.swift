extension ZoomDB {
    /// A fact about the zoomdb itself (`spool_id`, `spool_path`), or nil.
    public func meta(_ key: String) throws -> String? {
        try database.query("SELECT value FROM meta WHERE key = ?", [key]).first?.string("value")
    }

    /// Records a fact about the zoomdb itself.
    public func setMeta(_ key: String, _ value: String) throws {
        try database.query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                             [key, value])
    }
}
