@testable import DZSpool
import DZSystem
import Testing

/// Synced spools: what other hosts push into a queue's inbox reaches `new/` once per content, whatever the task
/// did since (claimed, retried, finished), and a copy sent again is dropped.
@Suite struct ReceiveTests {
    /// Writes `bytes` into the queue's inbox as `name`, as rsync does: a temporary file renamed into place.
    func arrive(_ temp: TemporarySpool, _ name: String, _ bytes: [UInt8]) throws {
        try temp.spool.createInbox(build)
        let temporary = temp.spool.path(build, .tmp) + "/.\(name).rsync"
        try FileIO.create(temporary, bytes: bytes, sync: false)
        try FileSystem.rename(temporary, temp.spool.inboxPath(build) + "/" + name)
    }

    func taskBytes(_ id: String, _ extra: String = "") -> [UInt8] {
        Array("{\"id\":\"\(id)\",\"task\":\"noop\"\(extra)}\n".utf8)
    }

    @Test func firstArrivalGoesToNewAndTheSameCopyAgainIsDropped() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        try arrive(temp, "t.json", taskBytes("t"))
        #expect(try temp.spool.receiveAll(build) == [.accepted(try TaskID("t"))])
        #expect(temp.names("build", .new) == ["t.json"])
        // Sent again while the first still waits: dropped, the waiting one untouched.
        try arrive(temp, "t.json", taskBytes("t"))
        #expect(try temp.spool.receiveAll(build) == [.redelivered(try TaskID("t"))])
        #expect(temp.names("build", .new) == ["t.json"])
        #expect(((try? FileSystem.names(in: temp.spool.inboxPath(build))) ?? []).isEmpty)
        #expect(temp.auditLines().contains { $0.contains("event=redelivered") && $0.contains("task=t") })
    }

    @Test func copyArrivingAfterTheTaskFinishedIsNeverRunAgain() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        try arrive(temp, "t.json", taskBytes("t"))
        _ = try temp.spool.receiveAll(build)
        guard case .claimed(let claim) = try temp.spool.claim("t.json", in: build, leaseSeconds: 30) else {
            Issue.record("not claimed")
            return
        }
        let result = ResultFile(task: claim.task, queue: build, status: .ok, host: temp.spool.host,
                                pid: temp.spool.pid, started: nil, finished: .now())
        _ = try temp.spool.finish(claim, result: result)
        #expect(temp.settled("build", .done) == ["t.json"])
        // gc may even have removed done/ by then: the marker decides, not done/.
        try arrive(temp, "t.json", taskBytes("t"))
        #expect(try temp.spool.receiveAll(build) == [.redelivered(try TaskID("t"))])
        #expect(temp.names("build", .new).isEmpty)
    }

    @Test func retryOfAnAcceptedTaskStaysAndTheOriginalSentAgainIsDropped() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        try arrive(temp, "t.json", taskBytes("t", ",\"backoff_s\":0"))
        _ = try temp.spool.receiveAll(build)
        guard case .claimed(let claim) = try temp.spool.claim("t.json", in: build, leaseSeconds: 30) else {
            Issue.record("not claimed")
            return
        }
        #expect(try temp.spool.retry(claim, failure: .init(kind: "x", message: "again")))
        #expect(temp.names("build", .new) == ["t.json"], "attempt 2 waits")
        try arrive(temp, "t.json", taskBytes("t", ",\"backoff_s\":0"))
        #expect(try temp.spool.receiveAll(build) == [.redelivered(try TaskID("t"))])
        let waiting = try TaskFile(parsing: try FileIO.readAll(temp.spool.path(build, .new) + "/t.json"), stem: "t")
        #expect(waiting.attempt == 2, "the retry is what waits, not the old copy")
    }

    @Test func sameIdWithOtherContentsIsAcceptedAgain() throws {
        // The result of a task requeued after it failed comes back with the same id and new contents.
        let temp = try TemporarySpool()
        defer { temp.remove() }
        try arrive(temp, "t.json", taskBytes("t"))
        _ = try temp.spool.receiveAll(build)
        try FileSystem.unlink(temp.spool.path(build, .new) + "/t.json")
        try arrive(temp, "t.json", taskBytes("t", ",\"args\":{\"second\":true}"))
        #expect(try temp.spool.receiveAll(build) == [.accepted(try TaskID("t"))])
    }

    @Test func otherContentsWhileTheIdWaitsAreSetAsideNotReplacingIt() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        try arrive(temp, "t.json", taskBytes("t"))
        _ = try temp.spool.receiveAll(build)
        try arrive(temp, "t.json", taskBytes("t", ",\"args\":{\"other\":true}"))
        #expect(try temp.spool.receiveAll(build) == [.duplicate(try TaskID("t"))])
        let waiting = try TaskFile(parsing: try FileIO.readAll(temp.spool.path(build, .new) + "/t.json"), stem: "t")
        #expect(waiting.args.isEmpty, "the first one still waits")
        #expect(temp.settled("build", .failed) == ["t.json"])
        #expect(temp.reason("build", .failed, "t.json")?.contains("duplicate-task") == true)
    }

    @Test func receiverStoppedBetweenMarkAndMoveFinishesTheMoveNextTime() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        let bytes = taskBytes("t")
        try arrive(temp, "t.json", bytes)
        // As if a receiver had linked the marker and died before the rename.
        try FileSystem.link(temp.spool.inboxPath(build) + "/t.json",
                            temp.spool.acceptedPath(build) + "/t@" + Spool.contentHash(bytes))
        #expect(try temp.spool.receiveAll(build) == [.accepted(try TaskID("t"))])
        #expect(temp.names("build", .new) == ["t.json"])
    }

    @Test func badNamesAndTemporaryFilesAreLeftToTheUsualRules() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        try arrive(temp, ".t.json.XyZ123", taskBytes("t"))
        try arrive(temp, "bad name!.json", taskBytes("x"))
        #expect(try temp.spool.receiveAll(build) == [], "a dotfile is a sync tool's: left alone")
        #expect(temp.names("build", .new) == ["bad name!.json"], "judged in new/ like any drop")
    }

    @Test func markersUntouchedForLongArePruned() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        try arrive(temp, "t.json", taskBytes("t"))
        _ = try temp.spool.receiveAll(build)
        #expect(temp.spool.pruneAccepted(build, olderThan: 3600) == 0)
        #expect(temp.spool.pruneAccepted(build, olderThan: 3600, now: .now() + 7200) == 1)
    }
}
