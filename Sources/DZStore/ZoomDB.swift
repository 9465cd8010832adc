import DZSystem

/// The zoomdb: jobs, steps and their log, projects, bundles, deployments. One SQLite file (WAL), mode 0600
/// because it holds app database passwords, on the coordinator's local disk (see `ZoomDBLocation`). Only the
/// coordinator writes it; what every other process needs of it, the coordinator publishes in the spool.
///
/// Not thread-safe: one owner at a time (the coordinator's task, or a command).
public final class ZoomDB: @unchecked Sendable {
    public let database: SQLiteDatabase

    /// Opens the zoomdb at `path` read-write, creating it (and its directory) and running pending migrations: the
    /// coordinator's way in, and nobody else's. Refuses a path on a network or FUSE file system unless
    /// `allowNetworkFileSystem`.
    public init(path: String, allowNetworkFileSystem: Bool = false) throws {
        try Self.checkLocal(path, allowNetworkFileSystem: allowNetworkFileSystem)
        let directory = String(path.prefix(upTo: path.lastIndex(of: "/") ?? path.startIndex))
        if !directory.isEmpty { try FileSystem.makeDirectories(directory, mode: 0o700) }
        let existed = FileSystem.exists(path)
        database = try SQLiteDatabase(path: path)
        if !existed { try FileSystem.setMode(path, 0o600) }
        try migrate()
    }

    /// Opens an existing zoomdb read-only, creating nothing and migrating nothing, and never checkpointing or
    /// removing its write-ahead log: for a command on the coordinator's own host. On another host the zoomdb is
    /// out of reach by design; commands there read what the coordinator publishes in the spool.
    public init(readOnlyAt path: String, allowNetworkFileSystem: Bool = false) throws {
        guard FileSystem.exists(path) else { throw ZoomDBError.missing(path) }
        try Self.checkLocal(path, allowNetworkFileSystem: allowNetworkFileSystem)
        database = try SQLiteDatabase(path: path, readOnly: true)
    }

    /// Throws `networkFileSystem` when `path` is (or would be created) on a network or FUSE file system.
    public static func checkLocal(_ path: String, allowNetworkFileSystem: Bool) throws {
        guard !allowNetworkFileSystem else { return }
        let type = try FileSystem.type(ofFutureFile: path)
        if type.isNetwork { throw ZoomDBError.networkFileSystem(path: path, type: type.name) }
    }

    private func migrate() throws {
        let version = Int(try database.query("PRAGMA user_version").first?.int("user_version") ?? 0)
        guard version < ZoomSchema.migrations.count else { return }
        try database.transaction {
            // Read again under the write lock: another process (the coordinator and a command starting together)
            // may have migrated since.
            let version = Int(try database.query("PRAGMA user_version").first?.int("user_version") ?? 0)
            guard version < ZoomSchema.migrations.count else { return }
            for index in version..<ZoomSchema.migrations.count {
                try database.execute(ZoomSchema.migrations[index])
            }
            try database.execute("PRAGMA user_version = \(ZoomSchema.migrations.count)")
        }
    }

    /// The schema version this dz migrates a zoomdb to.
    public static var latestSchemaVersion: Int { ZoomSchema.migrations.count }

    public var schemaVersion: Int {
        Int((try? database.query("PRAGMA user_version").first?.int("user_version")) ?? 0)
    }

    public func transaction<T>(_ body: () throws -> T) throws -> T {
        if relaxed {
            try database.execute("PRAGMA synchronous = FULL")
            relaxed = false
        }
        return try database.transaction(body)
    }

    /// Whether a committed transaction is on disk before `transaction` returns (`PRAGMA synchronous = FULL`: the
    /// write-ahead log is fsynced at each commit), or only safe against a crash of the process (`NORMAL`, the
    /// default: the log is fsynced at checkpoints, so a power loss may take back the last commits). The
    /// coordinator asks for durable commits when its spool is durable: it retires a result only after the
    /// result's effect is committed, and a commit a power loss took back would lose the result.
    public func setDurableCommits(_ durable: Bool) throws {
        try database.execute("PRAGMA synchronous = \(durable ? "FULL" : "NORMAL")")
        durableCommits = durable
    }

    /// Whether commits are durable (`setDurableCommits`).
    public private(set) var durableCommits = false

    /// Runs `body` in one transaction whose commit is not fsynced even when commits are durable: for what a power
    /// loss may take back because it can be found again (the coordinator's marks that steps' tasks are in the
    /// spool: a step left `dispatching` is looked for in the spool at the next start). The write-ahead log is
    /// appended to in order, so the next durable commit's fsync makes this one durable too: a power loss takes
    /// back this commit only together with every commit after it.
    public func lightTransaction<T>(_ body: () throws -> T) throws -> T {
        guard durableCommits else { return try database.transaction(body) }
        try database.execute("PRAGMA synchronous = NORMAL")
        relaxed = true
        defer { if (try? database.execute("PRAGMA synchronous = FULL")) != nil { relaxed = false } }
        return try database.transaction(body)
    }

    /// Whether a `lightTransaction` could not make commits durable again: the next `transaction` does first (or
    /// fails), so that no durable commit is ever made light.
    private var relaxed = false

    /// Leaves checkpoints (copying the write-ahead log back into the database, with its fsyncs) to another
    /// connection (`checkpoint()`), so that this one's commits never wait for them: the coordinator's loop.
    public func leaveCheckpointsToAnother() throws {
        try database.execute("PRAGMA wal_autocheckpoint = 0")
    }

    /// Copies what it can of the write-ahead log back into the database without waiting for any other connection
    /// (`PRAGMA wal_checkpoint(PASSIVE)`): for a connection of its own beside the writer's, so that the writer
    /// never waits for the checkpoint's fsyncs. Returns the frames in the log and how many of them are now in the
    /// database.
    @discardableResult
    public func checkpoint() throws -> (frames: Int, checkpointed: Int) {
        let row = try database.query("PRAGMA wal_checkpoint(PASSIVE)").first
        return (Int(row?.int("log") ?? 0), Int(row?.int("checkpointed") ?? 0))
    }

    /// Runs `body`'s queries on one snapshot (see `SQLiteDatabase.reading`).
    public func reading<T>(_ body: () throws -> T) throws -> T { try database.reading(body) }

    // MARK: Jobs

    /// Inserts a job, whole (a job refused at intake is inserted ended, with its error); `false` if a job with
    /// that id exists already (a submission seen twice).
    @discardableResult
    public func insert(_ job: JobRecord) throws -> Bool {
        try database.query("""
            INSERT OR IGNORE INTO jobs (id, kind, project, params, state, stopping, issued_by, issued_at, started,
                                        finished, error, result)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [job.id, job.kind, job.project, JSONText.encode(job.params), job.state.rawValue, job.stopping?.rawValue,
                  job.issuedBy, job.issuedAt.rfc3339, job.started?.rfc3339, job.finished?.rfc3339, job.error,
                  job.result.map(JSONText.encode)])
        return database.changes == 1
    }

    public func job(_ id: String) throws -> JobRecord? {
        try database.query("SELECT * FROM jobs WHERE id = ?", [id]).first.map(JobRecord.init(row:))
    }

    public func jobs(state: JobRecord.State? = nil, limit: Int = 1000) throws -> [JobRecord] {
        if let state {
            return try database.query("SELECT * FROM jobs WHERE state = ? ORDER BY issued_at DESC LIMIT ?",
                                      [state.rawValue, limit]).map(JobRecord.init(row:))
        }
        return try database.query("SELECT * FROM jobs ORDER BY issued_at DESC LIMIT ?", [limit])
            .map(JobRecord.init(row:))
    }

    /// The running jobs that have dispatched no step yet (`started` false) or have (true), oldest issued first:
    /// one query, however many jobs run.
    public func runningJobs(started: Bool) throws -> [JobRecord] {
        try database.query("""
            SELECT * FROM jobs WHERE state = 'running'
              AND \(started ? "" : "NOT ") EXISTS (SELECT 1 FROM steps WHERE steps.job = jobs.id)
            ORDER BY issued_at, id
            """).map(JobRecord.init(row:))
    }

    /// How many jobs are in each state.
    public func jobCounts() throws -> [JobRecord.State: Int] {
        var counts: [JobRecord.State: Int] = [:]
        for row in try database.query("SELECT state, count(*) AS n FROM jobs GROUP BY state") {
            if let state = row.string("state").flatMap(JobRecord.State.init(rawValue:)) {
                counts[state] = Int(row.int("n") ?? 0)
            }
        }
        return counts
    }

    public func update(_ job: JobRecord) throws {
        try database.query("""
            UPDATE jobs SET state = ?, stopping = ?, started = ?, finished = ?, error = ?, result = ? WHERE id = ?
            """, [job.state.rawValue, job.stopping?.rawValue, job.started?.rfc3339, job.finished?.rfc3339, job.error,
                  job.result.map(JSONText.encode), job.id])
    }

    // MARK: Steps

    public func insert(_ step: StepRecord) throws {
        try database.query("""
            INSERT INTO steps (job, name, definition, ordinal, queue, task, task_id, task_file, state, compensation,
                               max_attempts, deadline)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [step.job, step.name, step.definition, step.ordinal, step.queue, step.task, step.taskID,
                  step.taskFile, step.state.rawValue, step.compensation, step.maxAttempts, step.deadline?.rfc3339])
    }

    public func steps(of job: String) throws -> [StepRecord] {
        try database.query("SELECT * FROM steps WHERE job = ? ORDER BY ordinal, name", [job]).map(StepRecord.init(row:))
    }

    /// The job's steps without their task files (which may be large and hold the tasks' arguments): what is
    /// published of them.
    public func stepsWithoutTaskFiles(of job: String) throws -> [StepRecord] {
        try database.query("""
            SELECT job, name, definition, ordinal, queue, task, task_id, state, compensation, attempt, max_attempts,
                   host, dispatched, started, finished, deadline, output, error_kind, error
            FROM steps WHERE job = ? ORDER BY ordinal, name
            """, [job]).map(StepRecord.init(row:))
    }

    public func step(taskID: String) throws -> StepRecord? {
        try database.query("SELECT * FROM steps WHERE task_id = ?", [taskID]).first.map(StepRecord.init(row:))
    }

    /// How many steps are in `state`, across jobs.
    public func stepCount(state: StepRecord.State) throws -> Int {
        Int(try database.query("SELECT count(*) AS n FROM steps WHERE state = ?", [state.rawValue]).first?.int("n") ?? 0)
    }

    /// Steps in the given states, across jobs.
    public func steps(in states: [StepRecord.State]) throws -> [StepRecord] {
        let marks = states.map { _ in "?" }.joined(separator: ",")
        return try database.query("SELECT * FROM steps WHERE state IN (\(marks)) ORDER BY job, ordinal",
                                  states.map(\.rawValue)).map(StepRecord.init(row:))
    }

    public func update(_ step: StepRecord) throws {
        try database.query("""
            UPDATE steps SET state = ?, attempt = ?, host = ?, dispatched = ?, started = ?, finished = ?,
                             deadline = ?, output = ?, error_kind = ?, error = ?
            WHERE job = ? AND name = ?
            """, [step.state.rawValue, step.attempt, step.host, step.dispatched?.rfc3339, step.started?.rfc3339,
                  step.finished?.rfc3339, step.deadline?.rfc3339, step.output.map(JSONText.encode), step.errorKind,
                  step.error, step.job, step.name])
    }

    // MARK: Log

    public func log(_ job: String, _ level: JobLogLine.Level, _ message: String, at time: Timestamp = .now()) throws {
        try database.query("INSERT INTO job_log (job, ts, level, message) VALUES (?, ?, ?, ?)",
                           [job, time.rfc3339, level.rawValue, message])
    }

    /// Log lines of `job` after line `after` (0: from the start).
    public func logLines(of job: String, after: Int64 = 0) throws -> [JobLogLine] {
        try database.query("SELECT * FROM job_log WHERE job = ? AND id > ? ORDER BY id", [job, after]).map { row in
            JobLogLine(id: row.int("id") ?? 0,
                       time: row.string("ts").flatMap { Timestamp(rfc3339: $0) } ?? Timestamp(nanoseconds: 0),
                       level: JobLogLine.Level(rawValue: row.string("level") ?? "") ?? .info,
                       message: row.string("message") ?? "")
        }
    }
}

extension ZoomDB {
    /// The jobs that ended after `time`, newest first.
    public func jobs(finishedAfter time: Timestamp) throws -> [JobRecord] {
        try database.query("SELECT * FROM jobs WHERE finished > ? ORDER BY finished DESC", [time.rfc3339])
            .map(JobRecord.init(row:))
    }
}
