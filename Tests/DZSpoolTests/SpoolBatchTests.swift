@testable import DZSpool
import DZSystem
import Synchronization
import Testing

/// Drops and retirements made together: one fsync per directory for all of them, every file as durable when the
/// call returns as if each had been placed alone, and a failed fsync reported for every file it covered.
@Suite struct SpoolBatchTests {
    /// Records the directories fsynced; fails those named in `failing`.
    final class Recorder: Sendable {
        let calls = Mutex<[String]>([])
        let failing: Set<String>

        init(failing: Set<String> = []) { self.failing = failing }

        func sync(_ path: String) throws(Errno) {
            calls.withLock { $0.append(path) }
            if failing.contains(path) { throw Errno.ioError }
        }

        func reset() { calls.withLock { $0 = [] } }
        var synced: [String] { calls.withLock { $0 } }
    }

    func spool(_ recorder: Recorder) throws -> (Spool, TemporarySpool) {
        let temp = try TemporarySpool()
        let spool = Spool(root: temp.spool.root, host: temp.spool.host, sync: true,
                          directorySync: DirectorySync { path throws(Errno) in try recorder.sync(path) })
        return (spool, temp)
    }

    @Test func droppingTogetherFsyncsEachQueuesNewOnceAfterEveryRename() throws {
        let recorder = Recorder()
        let (spool, temp) = try spool(recorder)
        defer { temp.remove() }
        let other = try QueueName("other")
        try spool.drop(noop("old"), into: build)
        recorder.reset()

        let outcomes = spool.drop([(noop("a"), build), (noop("b"), other), (noop("c"), build), (noop("old"), build)])

        #expect(outcomes.count == 4)
        #expect(outcomes[0] == nil && outcomes[1] == nil && outcomes[2] == nil)
        #expect(outcomes[3] == .duplicateID(try TaskID("old"), build))
        #expect(recorder.synced.filter { $0.hasSuffix("/new") } == [spool.path(build, .new), spool.path(other, .new)])
        let waiting = Set(try FileSystem.names(in: spool.path(build, .new)))
        #expect(waiting == ["a.json", "c.json", "old.json"])
        #expect(try FileSystem.names(in: spool.path(other, .new)) == ["b.json"])
    }

    @Test func aFailedFsyncFailsEveryTaskOfItsQueueAndNoOther() throws {
        let other = try QueueName("other")
        let temp = try TemporarySpool()
        defer { temp.remove() }
        let recorder = Recorder(failing: [temp.spool.path(build, .new)])
        let spool = Spool(root: temp.spool.root, host: temp.spool.host, sync: true,
                          directorySync: DirectorySync { path throws(Errno) in try recorder.sync(path) })

        let outcomes = spool.drop([(noop("a"), build), (noop("b"), other), (noop("c"), build)])

        let failure = SpoolError.system(.ioError, operation: "fsync", path: spool.path(build, .new))
        #expect(outcomes[0] == failure && outcomes[2] == failure)
        #expect(outcomes[1] == nil)
    }

    @Test func retiringTogetherMovesEveryFileToDoneWithOneFsyncOfItsDayDirectory() throws {
        let recorder = Recorder()
        let (spool, temp) = try spool(recorder)
        defer { temp.remove() }
        // Results as the coordinator takes them (what they say does not matter here).
        for id in ["r1", "r2", "r3"] { try FileIO.create(spool.path(.results, .new) + "/" + id + ".json", bytes: Array("{}".utf8), sync: false) }
        let taken = try ["r1", "r2", "r3"].compactMap { try spool.take($0 + ".json", in: .results) }
        #expect(taken.count == 3)
        recorder.reset()

        try spool.retire(taken)

        // One fsync of the day directory (and, the first time, one of done/ for the day directory's creation).
        let done = spool.path(.results, .done)
        let days = recorder.synced.filter { $0.hasPrefix(done + "/") }
        #expect(days.count == 1)
        #expect(recorder.synced.allSatisfy { $0 == done || $0.hasPrefix(done + "/") })
        #expect(Set(try FileSystem.names(in: try #require(days.first))) == ["r1.json", "r2.json", "r3.json"])
        #expect(try FileSystem.names(in: spool.path(.results, .cur)).isEmpty)
    }
}
