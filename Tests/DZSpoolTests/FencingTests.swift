@testable import DZSpool
import DZSystem
import Testing

/// Only the holder of the lease reports a result: a holder that lost its claim commits nothing, wherever it was
/// stopped; what a holder committed is completed exactly once, by it or by a reaper.
@Suite struct FencingTests {
    /// `id` claimed by a silent holder on another host, its lease long run out.
    func silentClaim(_ temp: TemporarySpool, _ id: String) throws -> (holder: Spool, claim: Claim) {
        try temp.spool.drop(noop(id), into: build)
        let holder = try temp.other(host: "elsewhere", pid: 4242)
        guard case .claimed(let claim) = try holder.claim(id + ".json", in: build, leaseSeconds: 1) else {
            throw SpoolError.notFound(id)
        }
        return (holder, claim)
    }

    func result(_ claim: Claim, _ holder: Spool) -> ResultFile {
        ResultFile(task: claim.task, queue: build, status: .ok, output: ["by": .string("holder")], host: holder.host,
                   pid: holder.pid, started: nil, finished: .now())
    }

    func auditLines(_ temp: TemporarySpool, _ event: String) -> [String] {
        var lines: [String] = []
        for host in (try? FileSystem.names(in: temp.spool.logPath)) ?? [] {
            let dir = temp.spool.logPath + "/" + host
            for file in (try? FileSystem.names(in: dir)) ?? [] {
                let text = String(decoding: (try? FileIO.readAll(dir + "/" + file)) ?? [], as: UTF8.self)
                lines += text.split(separator: "\n").map(String.init).filter { $0.contains("event=\(event) ") }
            }
        }
        return lines
    }

    @Test func holderThatLostItsClaimDeliversNothing() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        let (holder, claim) = try silentClaim(temp, "t")
        #expect(try temp.spool.reap(build, leaseSeconds: 30, skew: 0, now: .now() + 100)
            == [.requeued(try TaskID("t"), attempt: 2)])
        // The holder wakes up and tries to finish: its commit finds the claim gone.
        #expect(try holder.finish(claim, result: result(claim, holder)) == .leaseLost)
        #expect(temp.names("results", .new).isEmpty)
        #expect(temp.settled("build", .done).isEmpty)
        #expect(temp.names("build", .cur).isEmpty)
        #expect(temp.names("build", .new) == ["t.json"])
        #expect(auditLines(temp, "finished").isEmpty)
        #expect(auditLines(temp, "lease-lost").count == 1)
    }

    @Test func holderThatLostItsClaimCannotRetryIt() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        let (holder, claim) = try silentClaim(temp, "t")
        _ = try temp.spool.reap(build, leaseSeconds: 30, skew: 0, now: .now() + 100)
        #expect(try !holder.retry(claim, failure: .init(kind: "failed", message: "late")))
        let waiting = try TaskFile(parsing: FileIO.readAll(temp.spool.path(build, .new) + "/t.json"), stem: "t")
        #expect(waiting.attempt == 2)
        #expect(temp.names("build", .cur).isEmpty)
    }

    @Test func holderStoppedAfterStagingLosesToTheReaper() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        let (holder, claim) = try silentClaim(temp, "t")
        // Staged, then stopped before the commit; the reaper takes the claim meanwhile.
        try FileIO.create(claim.stagedResultPath, bytes: result(claim, holder).encoded(), sync: false)
        _ = try temp.spool.reap(build, leaseSeconds: 30, skew: 0, now: .now() + 100)
        #expect(try holder.finish(claim, result: result(claim, holder)) == .leaseLost)
        #expect(temp.names("results", .new).isEmpty)
        #expect(temp.names("build", .new) == ["t.json"])
        #expect(temp.names("build", .cur).isEmpty)
    }

    @Test func committedOutcomeOfAStoppedHolderIsCompletedOnceByAReaper() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        let (holder, claim) = try silentClaim(temp, "t")
        // The holder staged and committed, then stopped before publishing anything.
        #expect(try holder.stageAndCommit(claim, result(claim, holder).encoded(), as: .ok))
        #expect(try temp.spool.reap(build, leaseSeconds: 30, skew: 0, now: .now() + 100) == [.completed(try TaskID("t"))])
        #expect(temp.names("results", .new) == ["t.json"])
        #expect(temp.settled("build", .done) == ["t.json"])
        #expect(temp.names("build", .cur).isEmpty)
        // The holder resumes: every step it still had to do was done; it repeats none.
        let placed = try holder.complete(claim.name, .ok, task: claim.task, in: build, result: nil, secrets: [], by: nil)
        #expect(placed == nil)
        #expect(temp.names("results", .new) == ["t.json"])
        #expect(temp.settled("build", .done) == ["t.json"])
        #expect(auditLines(temp, "finished").count == 1)
    }

    @Test func holderStoppedAfterDeliveringIsNotDeliveredAgain() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        let (holder, claim) = try silentClaim(temp, "t")
        #expect(try holder.stageAndCommit(claim, result(claim, holder).encoded(), as: .ok))
        try holder.publish(temp.spool.path(build, .cur) + "/" + claim.name.stagedResultName, as: "t.json",
                           in: .results, kind: "result")
        // The coordinator took the result in meanwhile.
        try FileSystem.unlink(temp.spool.path(.results, .new) + "/t.json")
        #expect(try temp.spool.reap(build, leaseSeconds: 30, skew: 0, now: .now() + 100) == [.completed(try TaskID("t"))])
        #expect(temp.names("results", .new).isEmpty)
        #expect(temp.settled("build", .done) == ["t.json"])
        #expect(auditLines(temp, "finished").count == 1)
    }

    @Test func committedRetryOfAStoppedHolderPutsTheNextAttemptBackOnce() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        let (holder, claim) = try silentClaim(temp, "t")
        var next = claim.task
        next.attempt = 2
        #expect(try holder.stageAndCommit(claim, next.encoded(), as: .retry))
        _ = try temp.spool.reap(build, leaseSeconds: 30, skew: 0, now: .now() + 100)
        let waiting = try TaskFile(parsing: FileIO.readAll(temp.spool.path(build, .new) + "/t.json"), stem: "t")
        #expect(waiting.attempt == 2)
        #expect(temp.names("build", .cur).isEmpty)
        #expect(try holder.complete(claim.name, .retry, task: claim.task, in: build, result: nil, secrets: [], by: nil) == nil)
        #expect(temp.names("build", .new) == ["t.json"])
    }

    @Test func ownClaimLetGoOfIsTakenBackOnceItsLeaseRunsOut() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        try temp.spool.drop(noop("t"), into: build)
        guard case .claimed = try temp.spool.claim("t.json", in: build, leaseSeconds: 2) else {
            Issue.record("not claimed")
            return
        }
        // In hand: never taken, however old.
        #expect(try temp.spool.reap(build, leaseSeconds: 2, skew: 0, now: .now() + 100, holding: { _ in true }).isEmpty)
        // Let go of (settling failed): taken back like anyone's once the lease ran out, not before.
        #expect(try temp.spool.reap(build, leaseSeconds: 2, skew: 0, holding: { _ in false }).isEmpty)
        #expect(try temp.spool.reap(build, leaseSeconds: 2, skew: 0, now: .now() + 100, holding: { _ in false })
            == [.requeued(try TaskID("t"), attempt: 2)])
    }

    @Test func claimWithAnAbsurdLeaseIsStillReaped() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        try temp.spool.drop(noop("t"), into: build)
        let name = "t@elsewhere@4242@99999999999999999999999@1.json"
        try FileSystem.rename(temp.spool.path(build, .new) + "/t.json", temp.spool.path(build, .cur) + "/" + name)
        #expect(try temp.spool.reap(build, leaseSeconds: 30, skew: 0, now: .now() + 3600).isEmpty)
        let actions = try temp.spool.reap(build, leaseSeconds: 30, skew: 0, now: .now() + 86_401)
        #expect(actions == [.requeued(try TaskID("t"), attempt: 2)], "\(actions) \(temp.names("build", .cur))")
    }
}
