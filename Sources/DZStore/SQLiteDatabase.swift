import CSQLite
import DZSystem

/// A failed SQLite call: the result code and SQLite's message.
public struct SQLiteError: Error, Equatable, CustomStringConvertible {
    public let code: Int32
    public let message: String

    public var description: String { "sqlite error \(code): \(message)" }

    /// The database is locked by another connection beyond the busy timeout.
    public var isBusy: Bool { code & 0xFF == SQLITE_BUSY || code & 0xFF == SQLITE_LOCKED }
}

/// One SQLite connection, through the C API. Not thread-safe: its owner (an actor, or one thread) serialises use.
///
/// WAL journal, foreign keys on, a busy timeout so that short-lived command processes and the coordinator share
/// the file without spurious `SQLITE_BUSY`.
public final class SQLiteDatabase: @unchecked Sendable {
    private var handle: OpaquePointer?
    public let path: String
    /// Prepared statements by their SQL, kept for the connection's life: the coordinator runs the same few
    /// statements for every result, and compiling one costs more than running it.
    private var statements: [String: (statement: OpaquePointer?, columns: SQLiteColumns)] = [:]
    /// The most statements kept; past it the cache starts again (queries built with a variable number of `?`).
    static let statementLimit = 128

    /// Opens (creating) the database at `path`.
    ///
    /// The corresponding C function is `sqlite3_open_v2`.
    public init(path: String, readOnly: Bool = false, busyTimeoutMilliseconds: Int32 = 10_000) throws(SQLiteError) {
        self.path = path
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
            | SQLITE_OPEN_NOMUTEX
        let code = sqlite3_open_v2(path, &handle, flags, nil)
        guard code == SQLITE_OK else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close_v2(handle)
            handle = nil
            throw SQLiteError(code: code, message: "\(path): \(message)")
        }
        sqlite3_busy_timeout(handle, busyTimeoutMilliseconds)
        if readOnly {
            // A reader must leave the writer's log and shared memory alone, whatever SQLite would do on close.
            _ = dz_sqlite_no_checkpoint_on_close(handle)
        } else {
            try switchToWriteAheadLog(busyTimeoutMilliseconds)
            try execute("PRAGMA synchronous = NORMAL")
        }
        try execute("PRAGMA foreign_keys = ON")
    }

    deinit {
        for (statement, _) in statements.values { sqlite3_finalize(statement) }
        sqlite3_close_v2(handle)
    }

    /// Puts the database in WAL mode. Connections opening a new database at once (the coordinator and a command
    /// starting together) race for that change, and SQLite reports the loser's `SQLITE_BUSY` at once, without the
    /// busy handler: it is tried again, with short pauses, for as long as the busy timeout.
    private func switchToWriteAheadLog(_ timeoutMilliseconds: Int32) throws(SQLiteError) {
        let deadline = Timestamp.now() + Double(timeoutMilliseconds) / 1000
        var pause = 0.001
        while true {
            do {
                try execute("PRAGMA journal_mode = WAL")
                return
            } catch where error.code & 0xFF == SQLITE_BUSY && Timestamp.now() < deadline {
                ThreadPause.sleep(seconds: pause)
                pause = min(pause * 2, 0.05)
            }
        }
    }

    private func error(_ code: Int32) -> SQLiteError {
        SQLiteError(code: code, message: String(cString: sqlite3_errmsg(handle)))
    }

    /// Runs one or more statements that return no rows.
    ///
    /// The corresponding C function is `sqlite3_exec`.
    public func execute(_ sql: String) throws(SQLiteError) {
        var message: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &message)
        if code != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? "error"
            sqlite3_free(message)
            throw SQLiteError(code: code, message: text)
        }
    }

    /// Runs one statement with parameters; returns its rows.
    ///
    /// The corresponding C functions are `sqlite3_prepare_v2`, `sqlite3_bind_*`, `sqlite3_step` and
    /// `sqlite3_column_*`.
    /// The statement is compiled once per connection (`sqlite3_prepare_v3` with `SQLITE_PREPARE_PERSISTENT`) and
    /// reset after each use, so that it holds no lock or snapshot between uses.
    @discardableResult
    public func query(_ sql: String, _ arguments: [any SQLiteBindable] = []) throws(SQLiteError) -> [SQLiteRow] {
        var (statement, columnNames) = try prepared(sql)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        for (index, argument) in arguments.enumerated() {
            let position = Int32(index + 1)
            let code: Int32
            switch argument.sqliteValue {
            case .null: code = sqlite3_bind_null(statement, position)
            case .integer(let value): code = sqlite3_bind_int64(statement, position, value)
            case .real(let value): code = sqlite3_bind_double(statement, position, value)
            case .text(let value): code = sqlite3_bind_text(statement, position, value, -1, dz_sqlite_transient())
            case .blob(let value):
                code = value.withUnsafeBytes { raw in
                    sqlite3_bind_blob(statement, position, raw.baseAddress, Int32(raw.count), dz_sqlite_transient())
                }
            }
            guard code == SQLITE_OK else { throw error(code) }
        }
        var rows: [SQLiteRow] = []
        var columns = Int32(columnNames.names.count)
        while true {
            let code = sqlite3_step(statement)
            if code == SQLITE_DONE { break }
            guard code == SQLITE_ROW else { throw error(code) }
            if rows.isEmpty, sqlite3_column_count(statement) != columns {
                // Compiled again by SQLite in its first step after a change of the schema (`SELECT *` of a table
                // that gained a column).
                columnNames = Self.columns(of: statement)
                columns = Int32(columnNames.names.count)
                statements[sql] = (statement, columnNames)
            }
            var values: [SQLiteValue] = []
            values.reserveCapacity(Int(columns))
            for column in 0..<columns {
                let value: SQLiteValue
                switch sqlite3_column_type(statement, column) {
                case SQLITE_INTEGER: value = .integer(sqlite3_column_int64(statement, column))
                case SQLITE_FLOAT: value = .real(sqlite3_column_double(statement, column))
                case SQLITE_TEXT:
                    // Its length from SQLite, not from a scan for its end.
                    let count = Int(sqlite3_column_bytes(statement, column))
                    value = .text(sqlite3_column_text(statement, column).map {
                        String(decoding: UnsafeBufferPointer(start: $0, count: count), as: UTF8.self)
                    } ?? "")
                case SQLITE_BLOB:
                    let count = Int(sqlite3_column_bytes(statement, column))
                    if let bytes = sqlite3_column_blob(statement, column) {
                        value = .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
                    } else {
                        value = .blob([])
                    }
                default: value = .null
                }
                values.append(value)
            }
            rows.append(SQLiteRow(columns: columnNames, storage: values))
        }
        return rows
    }

    /// The compiled statement for `sql` and its columns' names, from the cache or compiled now.
    private func prepared(_ sql: String) throws(SQLiteError) -> (OpaquePointer?, SQLiteColumns) {
        if let (statement, columns) = statements[sql] { return (statement, columns) }
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard code == SQLITE_OK else { throw error(code) }
        if statements.count >= Self.statementLimit {
            for (old, _) in statements.values { sqlite3_finalize(old) }
            statements = [:]
        }
        let columns = Self.columns(of: statement)
        statements[sql] = (statement, columns)
        return (statement, columns)
    }

    private static func columns(of statement: OpaquePointer?) -> SQLiteColumns {
        SQLiteColumns((0..<sqlite3_column_count(statement)).map { String(cString: sqlite3_column_name(statement, $0)) })
    }

    /// The rowid of the last insert on this connection.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Rows changed by the last statement.
    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// Runs `body` in one read transaction (`BEGIN DEFERRED`): every query in it sees the same snapshot, also on a
    /// read-only connection.
    public func reading<T>(_ body: () throws -> T) throws -> T {
        try query("BEGIN DEFERRED")
        defer { _ = try? query("COMMIT") }
        return try body()
    }

    /// Runs `body` in one `BEGIN IMMEDIATE` transaction: committed if it returns, rolled back if it throws.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try query("BEGIN IMMEDIATE")
        do {
            let value = try body()
            try query("COMMIT")
            return value
        } catch {
            _ = try? query("ROLLBACK")
            throw error
        }
    }
}
