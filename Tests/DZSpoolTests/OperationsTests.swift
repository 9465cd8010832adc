import DZSpool
import DZSystem
import Testing

@Suite struct OperationsTests {
    @Test func statusCountsEachStage() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        for id in ["a", "b", "c"] { try temp.spool.drop(noop(id), into: build) }
        _ = try temp.spool.claim("a.json", in: build, leaseSeconds: 30)
        try temp.write("build", "junk.json", "nope")
        _ = try temp.spool.claim("junk.json", in: build, leaseSeconds: 30)
        let status = temp.spool.status(of: build)
        #expect(status.waiting == 2)
        #expect(status.running == 1)
        #expect(status.stale == 0)
        #expect(status.failed == 1)
        #expect(status.oldestWaiting != nil)
    }

    @Test func historyFindsLinesAndLocations() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        var task = noop("h1")
        task.job = "job-7"
        try temp.spool.drop(task, into: build)
        try temp.spool.drop(noop("h10"), into: build)
        let history = temp.spool.history(of: "h1")
        #expect(history.lines.count == 1)
        #expect(history.locations == ["build/new/h1.json"])
        #expect(temp.spool.history(of: "job-7").lines.count == 1)
    }

    @Test func requeueFailedResetsAttempt() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        var task = noop("f")
        task.attempt = 3
        try temp.spool.drop(task, into: build)
        guard case .claimed(let claim) = try temp.spool.claim("f.json", in: build, leaseSeconds: 30) else {
            Issue.record("not claimed")
            return
        }
        let result = ResultFile(task: claim.task, queue: build, status: .error, error: .init(kind: "x", message: "y"),
                                host: temp.spool.host, pid: 1, started: nil, finished: .now())
        _ = try temp.spool.finish(claim, result: result)
        #expect(temp.settled("build", .failed) == ["f.json"])
        let outcome = try temp.spool.requeueFailed(build, ids: ["f", "missing"])
        #expect(outcome.requeued == [try TaskID("f")])
        #expect(outcome.refused.map(\.0) == ["missing"])
        let again = try TaskFile(parsing: try FileIO.readAll(temp.spool.path(build, .new) + "/f.json"), stem: "f")
        #expect(again.attempt == 1)
        #expect(temp.settled("build", .failed).isEmpty)
    }

    @Test func gcRemovesOnlyOldDays() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        let old = temp.spool.path(build, .done) + "/2020-01-01"
        try FileSystem.makeDirectories(old)
        try FileIO.create(old + "/x.json", bytes: [1], sync: false)
        let today = temp.spool.path(build, .done) + "/" + Timestamp.now().utcDay
        try FileSystem.makeDirectories(today)
        let report = try temp.spool.collectGarbage(olderThan: 86400 * 30)
        #expect(report.directories == 1)
        #expect(report.files == 1)
        #expect(!FileSystem.exists(old))
        #expect(FileSystem.exists(today))
    }

    @Test func heartbeatsRoundTrip() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        var beat = Heartbeat(host: try HostID("h1"), pid: 12, version: "1", queues: [build], running: ["t"],
                             concurrency: 4, started: .now())
        beat.measure(spoolRoot: temp.spool.root)
        try temp.spool.write(beat)
        let read = temp.spool.heartbeats()
        #expect(read.count == 1)
        #expect(read.first?.queues == [build])
        #expect(read.first?.diskAvailable != nil)
        temp.spool.removeHeartbeat(host: beat.host, pid: beat.pid)
        #expect(temp.spool.heartbeats().isEmpty)
    }
}
