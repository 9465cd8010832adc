@testable import DZStore
import DZSystem
import Foundation
import Testing

/// The coordinator's connection leaves checkpoints to a connection of their own, so that its commits never wait
/// for a checkpoint's fsyncs.
@Suite struct ZoomDBCheckpointTests {
    @Test func aWriterThatLeavesCheckpointsGrowsItsLogUntilAnotherConnectionCheckpointsIt() throws {
        let directory = NSTemporaryDirectory() + "dz-checkpoint-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/zoomdb.sqlite3"
        let writer = try ZoomDB(path: path)
        try writer.leaveCheckpointsToAnother()
        // Past SQLite's automatic checkpoint (1000 pages): the writer does not copy its log back itself.
        let text = String(repeating: "x", count: 8000)
        for index in 0..<300 {
            try writer.transaction {
                var job = JobRecord(id: "J\(index)", kind: "selftest", project: nil, params: [:], issuedBy: nil,
                                    issuedAt: .now())
                job.error = text
                try writer.insert(job)
            }
        }
        let log = path + "-wal"
        let grown = try FileSystem.status(log).size
        #expect(grown > 1000 * 4096, "the log is \(grown) bytes")

        let checkpointer = try ZoomDB(path: path)
        let (frames, checkpointed) = try checkpointer.checkpoint()
        #expect(frames > 1000 && checkpointed == frames, "\(checkpointed) of \(frames) frames")
        // Everything the writer committed is in the database file itself now.
        let reader = try ZoomDB(readOnlyAt: path)
        #expect(try reader.jobs(limit: 1000).count == 300)
    }

    /// A light transaction (the coordinator's dispatch marks) commits without an fsync, and the commits after it
    /// are durable again.
    @Test func aLightTransactionCommitsAndLeavesTheNextCommitsDurable() throws {
        let directory = NSTemporaryDirectory() + "dz-light-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let db = try ZoomDB(path: directory + "/zoomdb.sqlite3")
        func synchronous() throws -> Int64? { try db.database.query("PRAGMA synchronous").first?.int("synchronous") }
        try db.setDurableCommits(true)
        #expect(try synchronous() == 2)
        try db.lightTransaction {
            try db.insert(JobRecord(id: "J1", kind: "selftest", project: nil, params: [:], issuedBy: nil, issuedAt: .now()))
        }
        #expect(try db.job("J1") != nil)
        #expect(try synchronous() == 2, "FULL again after the light transaction")
        // One that throws is rolled back, and leaves commits durable too.
        struct Refused: Error {}
        #expect(throws: Refused.self) {
            try db.lightTransaction {
                try db.insert(JobRecord(id: "J2", kind: "selftest", project: nil, params: [:], issuedBy: nil,
                                        issuedAt: .now()))
                throw Refused()
            }
        }
        #expect(try db.job("J2") == nil)
        #expect(try synchronous() == 2)
        // Without durable commits, a light transaction is an ordinary one.
        try db.setDurableCommits(false)
        try db.lightTransaction { try db.log("J1", .info, "x") }
        #expect(try synchronous() == 1)
    }
}
