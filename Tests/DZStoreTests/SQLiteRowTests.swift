@testable import DZStore
import Foundation
import Testing

/// Rows are read through their statement's column names, kept with the compiled statement: a statement SQLite
/// compiles again after the schema changed (a `SELECT *` of a table that gained a column) reads the new columns.
@Suite struct SQLiteRowTests {
    @Test func rowsAreReadByColumnNameAlsoAfterTheTableGainedAColumn() throws {
        let directory = NSTemporaryDirectory() + "dz-rows-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let database = try SQLiteDatabase(path: directory + "/rows.sqlite3")
        try database.execute("CREATE TABLE t (a INTEGER, b TEXT)")
        try database.query("INSERT INTO t VALUES (?, ?)", [1, "één"])
        var rows = try database.query("SELECT * FROM t")
        #expect(rows.count == 1 && rows[0].int("a") == 1 && rows[0].string("b") == "één")
        #expect(rows[0]["missing"] == .null)
        #expect(rows[0].values == ["a": .integer(1), "b": .text("één")])

        try database.execute("ALTER TABLE t ADD COLUMN c TEXT DEFAULT 'new'")
        rows = try database.query("SELECT * FROM t")
        #expect(rows.count == 1 && rows[0].int("a") == 1 && rows[0].string("c") == "new")
    }
}
