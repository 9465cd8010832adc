import DZSystem

extension ZoomDB {
    /// What `moveLegacy` did with a zoomdb an earlier dz kept in the spool.
    public struct LegacyMove: Sendable, Equatable {
        /// The spool's old `zoomdb/` directory, now renamed to this (it still holds the old copy and its secrets).
        public var setAside: String
        public var jobs: Int
    }

    /// Moves the zoomdb an earlier dz kept in the spool (`legacy`, `<spool>/zoomdb/zoomdb.sqlite3`) to `path` on
    /// the coordinator's disk, when `path` does not exist yet: a consistent copy (`VACUUM INTO`, under the old
    /// coordinators' lock on `<legacy>.lock`), checked (integrity and job count) before it takes the new name, after
    /// which the old directory is renamed `zoomdb.moved` (`zoomdb.moved-<time>` if that exists) so that nothing
    /// opens it again. Returns nil when there is nothing to move. Only a coordinator holding the spool's lease
    /// may call this.
    public static func moveLegacy(from legacy: String, to path: String) throws -> LegacyMove? {
        guard FileSystem.exists(legacy), !FileSystem.exists(path) else { return nil }
        func failure(_ reason: String) -> ZoomDBError { .legacyMove(from: legacy, to: path, reason: reason) }
        let lock: FileLock
        do { lock = try FileLock(path: legacy + ".lock") } catch {
            throw failure("an earlier coordinator on this host still holds \(legacy).lock (\(error)): stop it first")
        }
        defer { withExtendedLifetime(lock) {} }
        let directory = String(path.prefix(upTo: path.lastIndex(of: "/") ?? path.startIndex))
        if !directory.isEmpty { try FileSystem.makeDirectories(directory, mode: 0o700) }
        let copy = path + ".moving"
        try? FileSystem.unlink(copy)
        let jobs: Int
        do {
            let old = try SQLiteDatabase(path: legacy)
            jobs = Int(try old.query("SELECT count(*) AS n FROM jobs").first?.int("n") ?? 0)
            try old.query("VACUUM INTO ?", [copy])
        }
        do {
            try FileSystem.setMode(copy, 0o600)
            let moved = try SQLiteDatabase(path: copy)
            let check = try moved.query("PRAGMA quick_check").first?.string("quick_check")
            guard check == "ok" else { throw failure("the copy fails SQLite's check: \(check ?? "no answer")") }
            let copied = Int(try moved.query("SELECT count(*) AS n FROM jobs").first?.int("n") ?? -1)
            guard copied == jobs else { throw failure("the copy has \(copied) jobs, the original \(jobs)") }
            try moved.execute("PRAGMA journal_mode = WAL")
        } catch {
            try? FileSystem.unlink(copy)
            throw error
        }
        try FileSystem.rename(copy, path)
        if !directory.isEmpty { try? FileSystem.syncDirectory(directory) }
        let oldDirectory = String(legacy.prefix(upTo: legacy.lastIndex(of: "/") ?? legacy.startIndex))
        var aside = oldDirectory + ".moved"
        if FileSystem.exists(aside) { aside += "-" + Timestamp.now().compact }
        try FileSystem.rename(oldDirectory, aside)
        return LegacyMove(setAside: aside, jobs: jobs)
    }
}
