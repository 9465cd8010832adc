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
}
