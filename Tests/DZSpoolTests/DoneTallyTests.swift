import DZSpool
import DZSystem
import Testing

@Suite struct DoneTallyTests {
    /// Drops, claims and finishes `id` through `spool`: one file into today's `done/`.
    private func finish(_ id: String, _ spool: Spool) throws {
        try spool.drop(noop(id), into: build)
        guard case .claimed(let claim) = try spool.claim(id + ".json", in: build, leaseSeconds: 30) else {
            Issue.record("\(id) not claimed")
            return
        }
        let result = ResultFile(task: claim.task, queue: build, status: .ok, host: spool.host, pid: spool.pid,
                                started: nil, finished: .now())
        _ = try spool.finish(claim, result: result)
    }

    @Test func statusReadsTheTalliesOfEveryWriterPastTheListingThreshold() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        let other = try temp.other(host: "other-host", pid: 4242)
        for id in ["a", "b", "c"] { try finish(id, temp.spool) }
        for id in ["d", "e"] { try finish(id, other) }
        temp.spool.writeTallies()
        other.writeTallies()
        #expect(temp.spool.tallied(build, day: Timestamp.now().utcDay) == 5)
        let tallied = temp.spool.status(of: build, listedUpTo: 5)
        #expect(tallied.doneToday == 5)
        #expect(tallied.doneTodayTallied)
        #expect(tallied.jsonObject["done_today_tallied"] == .bool(true))
        let listed = temp.spool.status(of: build)
        #expect(listed.doneToday == 5)
        #expect(!listed.doneTodayTallied)
    }

    @Test func aDayBelowTheThresholdIsListedSoFilesMovedByHandCount() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        try finish("a", temp.spool)
        temp.spool.writeTallies()
        let today = temp.spool.path(build, .done) + "/" + Timestamp.now().utcDay
        try FileIO.create(today + "/by-hand.json", bytes: Array("{}".utf8), sync: false)
        let status = temp.spool.status(of: build)
        #expect(status.doneToday == 2)
        #expect(!status.doneTodayTallied)
    }

    @Test func aRestartedWriterWithTheSamePidAddsToTheDeadOnesTally() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        let first = try temp.other(host: "h", pid: 77)
        try finish("a", first)
        first.writeTallies()
        let second = try temp.other(host: "h", pid: 77)
        try finish("b", second)
        second.writeTallies()
        let day = Timestamp.now().utcDay
        #expect(((try? FileSystem.names(in: temp.spool.tallyPath(build, day: day))) ?? []).count == 2)
        #expect(temp.spool.tallied(build, day: day) == 2)
    }

    @Test func unreadableTalliesAndHiddenFilesAreSkipped() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        try finish("a", temp.spool)
        temp.spool.writeTallies()
        let dir = temp.spool.tallyPath(build, day: Timestamp.now().utcDay)
        try FileIO.create(dir + "/junk", bytes: Array("lots\n".utf8), sync: false)
        try FileIO.create(dir + "/negative", bytes: Array("-5\n".utf8), sync: false)
        try FileIO.create(dir + "/.half-written.tmp", bytes: Array("9999\n".utf8), sync: false)
        #expect(temp.spool.tallied(build, day: Timestamp.now().utcDay) == 1)
        #expect(temp.spool.tallied(build, day: "2020-01-01") == nil)
    }

    @Test func gcRemovesTheTalliesOfTheDaysItRemoves() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        try finish("a", temp.spool)
        temp.spool.writeTallies()
        let old = temp.spool.tallyPath(build, day: "2020-01-01")
        try FileSystem.makeDirectories(old)
        try FileIO.create(old + "/h.1.abcd", bytes: Array("3\n".utf8), sync: false)
        _ = try temp.spool.collectGarbage(olderThan: 86400 * 30)
        #expect(!FileSystem.exists(old))
        #expect(temp.spool.tallied(build, day: Timestamp.now().utcDay) == 1)
        // Whatever lists done/'s days finds only days.
        #expect(temp.names("build", .done) == [Timestamp.now().utcDay])
    }
}
