import DZSpool
import DZSystem
import Testing

@Suite struct ReaperTests {
    /// Claims `id` as another (dead or silent) holder and ages the claim by `age` seconds.
    func claimAsOther(_ temp: TemporarySpool, _ id: String, host: String, pid: Int32, lease: Int, age: Double)
        throws -> Claim
    {
        let other = try temp.other(host: host, pid: pid)
        guard case .claimed(let claim) = try other.claim(id + ".json", in: build, leaseSeconds: lease) else {
            throw SpoolError.notFound(id)
        }
        try FileSystem.touch(claim.path, modified: .now() + -age)
        return claim
    }

    @Test func expiredLeaseIsRequeuedOnceWithAttemptPlusOne() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        try temp.spool.drop(noop("t"), into: build)
        _ = try claimAsOther(temp, "t", host: "elsewhere", pid: 4242, lease: 2, age: 10)
        // ctime still says "just renamed": not stale yet, whatever the mtime.
        #expect(try temp.spool.reap(build, leaseSeconds: 30, skew: 1).isEmpty)
        let later = Timestamp.now() + 10
        let actions = try temp.spool.reap(build, leaseSeconds: 30, skew: 1, now: later)
        #expect(actions == [.requeued(try TaskID("t"), attempt: 2)])
        #expect(temp.names("build", .new) == ["t.json"])
        #expect(try temp.spool.reap(build, leaseSeconds: 30, skew: 1, now: later).isEmpty)
    }

    @Test func heartbeatingClaimIsNeverTaken() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        try temp.spool.drop(noop("t"), into: build)
        let claim = try claimAsOther(temp, "t", host: "elsewhere", pid: 4242, lease: 5, age: 0)
        #expect(temp.spool.renew(claim))
        #expect(try temp.spool.reap(build, leaseSeconds: 30, skew: 1, now: .now() + 3).isEmpty)
    }

    @Test func deadHolderOnThisHostIsTakenBackAtOnce() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        try temp.spool.drop(noop("t"), into: build)
        // pid 2^22+1 is above Linux's pid_max default range: no such process.
        _ = try claimAsOther(temp, "t", host: "test-host", pid: 4_194_305, lease: 600, age: 0)
        let actions = try temp.spool.reap(build, leaseSeconds: 30)
        #expect(actions == [.requeued(try TaskID("t"), attempt: 2)])
    }

    @Test func pastMaxAttemptsGoesToFailedWithAResult() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        var task = noop("poison")
        task.maxAttempts = 1
        try temp.spool.drop(task, into: build)
        _ = try claimAsOther(temp, "poison", host: "elsewhere", pid: 4242, lease: 1, age: 100)
        let actions = try temp.spool.reap(build, leaseSeconds: 30, skew: 0, now: .now() + 100)
        #expect(actions == [.failed(try TaskID("poison"))])
        #expect(temp.settled("build", .failed) == ["poison.json"])
        #expect(temp.reason("build", .failed, "poison.json")?.contains("kind=lease-expired") == true)
        let result = try ResultFile(parsing: try FileIO.readAll(temp.spool.path(.results, .new) + "/poison.json"))
        #expect(result.status == .error)
        #expect(result.error?.kind == "lease-expired")
    }

    @Test func stagedResultOfADeadHolderIsDeliveredNotRunAgain() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        try temp.spool.drop(noop("half"), into: build)
        // A holder on this host whose process is gone (pid above the default pid_max).
        let claim = try claimAsOther(temp, "half", host: temp.spool.host.rawValue, pid: 4_194_305, lease: 600, age: 0)
        // The holder staged its result and died before committing it.
        let result = ResultFile(task: claim.task, queue: build, status: .ok, output: ["done": .bool(true)],
                                host: temp.spool.host, pid: 4_194_305, started: nil, finished: .now())
        try FileIO.create(claim.stagedResultPath, bytes: result.encoded(), sync: false)
        let actions = try temp.spool.reap(build, leaseSeconds: 30)
        #expect(actions == [.recovered(try TaskID("half"))])
        #expect(temp.settled("build", .done) == ["half.json"])
        #expect(temp.names("build", .cur).isEmpty)
        let delivered = try ResultFile(parsing: try FileIO.readAll(temp.spool.path(.results, .new) + "/half.json"))
        #expect(delivered.output["done"] == .bool(true))
        #expect(delivered.attempt == 1)
    }

    @Test func stagedResultOfASilentHolderIsSupersededAndTheTaskRunsAgain() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        try temp.spool.drop(noop("half"), into: build)
        let claim = try claimAsOther(temp, "half", host: "elsewhere", pid: 4242, lease: 1, age: 100)
        // Its lease ran out with an outcome staged: the holder may be alive (paused), so the outcome is not
        // delivered for it; it could still try to commit, and must fail.
        let result = ResultFile(task: claim.task, queue: build, status: .ok, output: ["done": .bool(true)],
                                host: try HostID("elsewhere"), pid: 4242, started: nil, finished: .now())
        try FileIO.create(claim.stagedResultPath, bytes: result.encoded(), sync: false)
        let actions = try temp.spool.reap(build, leaseSeconds: 30, skew: 0, now: .now() + 100)
        #expect(actions == [.requeued(try TaskID("half"), attempt: 2)])
        #expect(temp.names("build", .new) == ["half.json"])
        #expect(temp.names("build", .cur).isEmpty)
        #expect(temp.reason("build", .failed, claim.name.stagedResultName)?.contains("kind=superseded") == true)
        #expect(temp.names("results", .new).isEmpty)
    }

    @Test func orphanStagedResultIsMovedAside() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        let path = temp.spool.path(build, .cur) + "/gone@elsewhere@4242@1.result"
        try FileIO.create(path, bytes: Array("{}".utf8), sync: false)
        #expect(try temp.spool.reap(build, leaseSeconds: 30, skew: 0).isEmpty)
        let actions = try temp.spool.reap(build, leaseSeconds: 30, skew: 0, now: .now() + 100)
        #expect(actions == [.movedAside("gone@elsewhere@4242@1.result")])
        #expect(temp.names("build", .cur).isEmpty)
    }

    @Test func staleTemporaryFilesArePurged() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        let old = temp.spool.path(build, .tmp) + "/old"
        try FileIO.create(old, bytes: [1], sync: false)
        try FileIO.create(temp.spool.path(build, .tmp) + "/fresh", bytes: [1], sync: false)
        #expect(temp.spool.purgeTemporary(build, olderThan: 3600, now: .now() + 7200) == 2)
        #expect(temp.spool.purgeTemporary(build, olderThan: 3600) == 0)
    }
}
