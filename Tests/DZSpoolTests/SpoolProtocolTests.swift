import DZSpool
import DZSystem
import Testing

@Suite struct SpoolProtocolTests {
    @Test func dropThenClaimThenFinish() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        let spool = temp.spool
        try spool.drop(noop("t1"), into: build)
        #expect(temp.names("build", .new) == ["t1.json"])
        #expect(temp.names("build", .tmp).isEmpty)

        guard case .claimed(let claim) = try spool.claim("t1.json", in: build, leaseSeconds: 30) else {
            Issue.record("not claimed")
            return
        }
        #expect(temp.names("build", .cur) == ["t1@test-host@\(spool.pid)@30@\(claim.name.serial ?? 0).json"])
        let result = ResultFile(task: claim.task, queue: build, status: .ok, output: ["x": .int(1)],
                                host: spool.host, pid: spool.pid, started: .now(), finished: .now())
        guard case .settled(let placed) = try spool.finish(claim, result: result) else {
            Issue.record("not settled")
            return
        }
        #expect(placed.hasSuffix("/t1.json"))
        #expect(temp.names("build", .cur).isEmpty)
        #expect(temp.settled("build", .done) == ["t1.json"])
        #expect(temp.names("results", .new) == ["t1.json"])
        let delivered = try FileIO.readAll(spool.path(.results, .new) + "/t1.json")
        #expect(try ResultFile(parsing: delivered).output == ["x": .int(1)])
        let events = temp.auditLines().compactMap { line in Logfmt.parse(line[...]).first { $0.0 == "event" }?.1 }
        #expect(events == ["dropped", "claimed", "finished"])
    }

    @Test func dropRefusesAnIdAlreadyWaiting() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        try temp.spool.drop(noop("same"), into: build)
        #expect(throws: SpoolError.duplicateID(try TaskID("same"), build)) {
            try temp.spool.drop(noop("same"), into: build)
        }
        #expect(temp.names("build", .tmp).isEmpty)
    }

    @Test func claimLosesRaceQuietly() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        try temp.spool.drop(noop("t1"), into: build)
        let rival = try temp.other(host: "rival", pid: 99999)
        guard case .claimed = try rival.claim("t1.json", in: build, leaseSeconds: 30) else {
            Issue.record("rival lost")
            return
        }
        guard case .lost = try temp.spool.claim("t1.json", in: build, leaseSeconds: 30) else {
            Issue.record("second claim did not lose")
            return
        }
        #expect(temp.names("build", .cur).count == 1)
    }

    @Test func dotfilesAndOtherNamesAreIgnored() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        for name in [".x.json", ".nfs000123", "notes.txt", ".json"] {
            try temp.write("build", name, #"{"task":"noop"}"#)
            guard case .ignored = try temp.spool.claim(name, in: build, leaseSeconds: 30) else {
                Issue.record("\(name) not ignored")
                continue
            }
        }
        #expect(temp.names("build", .new).count == 4)
    }

    @Test func badInputIsMovedAsideWithItsReason() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        try temp.write("build", "trunc.json", #"{"task":"#)
        try temp.write("build", "bad name.json", #"{"task":"noop"}"#)
        try temp.write("build", "big.json", #"{"task":"noop","args":{"x":""# + String(repeating: "a", count: 1 << 20) + "\"}}")
        try FileSystem.makeDirectory(temp.spool.path(build, .new) + "/dir.json")
        try FileSystem.symlink(target: "/etc/passwd", at: temp.spool.path(build, .new) + "/out.json")
        let cases = ["trunc.json": "json", "bad name.json": "name", "big.json": "too-large", "dir.json": "not-a-file",
                     "out.json": "symlink"]
        for (name, kind) in cases {
            guard case .rejected(let bad) = try temp.spool.claim(name, in: build, leaseSeconds: 30) else {
                Issue.record("\(name) not rejected")
                continue
            }
            #expect(bad.kind == kind, "\(name): \(bad.message)")
            #expect(temp.reason("build", .failed, name)?.contains("kind=\(kind)") == true)
        }
        #expect(temp.names("build", .new).isEmpty)
        #expect(temp.names("build", .cur).isEmpty)
        #expect(temp.settled("build", .failed) == cases.keys.sorted())
    }

    @Test func symlinkInsideTheSpoolIsRead() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        let target = temp.spool.root + "/build/tmp/prepared"
        try FileIO.create(target, bytes: Array(#"{"task":"noop"}"#.utf8), sync: false)
        try FileSystem.symlink(target: target, at: temp.spool.path(build, .new) + "/linked.json")
        guard case .claimed(let claim) = try temp.spool.claim("linked.json", in: build, leaseSeconds: 30) else {
            Issue.record("not claimed")
            return
        }
        #expect(claim.task.task == "noop")
    }

    /// A deferred task that is a symbolic link goes back as a regular file with its not_before as mtime: scans
    /// judge the link's own time, so a link would be claimed and put back at every scan until it is due.
    @Test func deferredSymlinkGoesBackAsAFileWithItsNotBeforeAsMtime() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        let when = Timestamp.now() + 3600
        let target = temp.spool.root + "/build/tmp/prepared"
        try FileIO.create(target, bytes: Array(#"{"task":"noop","not_before":"\#(when.rfc3339)"}"#.utf8), sync: false)
        let waiting = temp.spool.path(build, .new) + "/linked.json"
        try FileSystem.symlink(target: target, at: waiting)
        guard case .notDue = try temp.spool.claim("linked.json", in: build, leaseSeconds: 30) else {
            Issue.record("claimed before its not_before")
            return
        }
        let status = try FileSystem.linkStatus(waiting)
        #expect(status.kind == .regular)
        #expect(abs(status.modified - when) < 0.001)
        #expect(try TaskFile(parsing: try FileIO.readAll(waiting), stem: "linked").notBefore != nil)
        #expect(temp.spool.status(of: build).deferred == 1, "a scan now leaves it alone")
    }

    @Test func recentUnparseableFileIsPutBackNotRejected() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        try temp.write("build", "slow.json", #"{"task":"#, age: 0)
        guard case .unsettled(let retryAt, _) = try temp.spool.claim("slow.json", in: build, leaseSeconds: 30, settle: 10)
        else {
            Issue.record("not put back")
            return
        }
        #expect(retryAt > .now())
        #expect(temp.names("build", .new) == ["slow.json"])
        // The copy finishes; the next try succeeds.
        let path = temp.spool.path(build, .new) + "/slow.json"
        try FileSystem.unlink(path)
        try FileIO.create(path, bytes: Array(#"{"task":"noop"}"#.utf8), sync: false)
        guard case .claimed = try temp.spool.claim("slow.json", in: build, leaseSeconds: 30, settle: 10) else {
            Issue.record("not claimed after the copy finished")
            return
        }
    }

    @Test func futureNotBeforeIsDeferredByMtime() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        var task = noop("later")
        task.notBefore = .now() + 3600
        try temp.spool.drop(task, into: build)
        guard case .notDue(let due) = try temp.spool.claim("later.json", in: build, leaseSeconds: 30) else {
            Issue.record("claimed early")
            return
        }
        #expect(abs(due - task.notBefore!) < 0.001)
        // A hand-written file with a future not_before but a current mtime is put back with that mtime.
        let when = (Timestamp.now() + 3600).rfc3339
        try temp.write("build", "hand.json", #"{"task":"noop","not_before":"\#(when)"}"#, age: 0)
        guard case .notDue = try temp.spool.claim("hand.json", in: build, leaseSeconds: 30) else {
            Issue.record("hand-written future task claimed")
            return
        }
        #expect(try FileSystem.status(temp.spool.path(build, .new) + "/hand.json").modified > .now() + 3000)
        #expect(temp.spool.status(of: build).deferred == 2)
    }

    @Test func retryBumpsAttemptAndDefers() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        var task = noop("r")
        task.backoffSeconds = 60
        try temp.spool.drop(task, into: build)
        guard case .claimed(let claim) = try temp.spool.claim("r.json", in: build, leaseSeconds: 30) else {
            Issue.record("not claimed")
            return
        }
        #expect(try temp.spool.retry(claim, failure: .init(kind: "x", message: "y")))
        let path = temp.spool.path(build, .new) + "/r.json"
        let again = try TaskFile(parsing: try FileIO.readAll(path), stem: "r")
        #expect(again.attempt == 2)
        #expect(again.notBefore! > .now() + 50)
        #expect(try FileSystem.status(path).modified > .now() + 50)
        #expect(temp.names("build", .cur).isEmpty)
    }

    @Test func releaseKeepsAttempt() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        try temp.spool.drop(noop("r"), into: build)
        guard case .claimed(let claim) = try temp.spool.claim("r.json", in: build, leaseSeconds: 30) else {
            Issue.record("not claimed")
            return
        }
        try temp.spool.release(claim)
        let again = try TaskFile(parsing: try FileIO.readAll(temp.spool.path(build, .new) + "/r.json"), stem: "r")
        #expect(again.attempt == 1)
    }

    @Test func finishAfterLostLeaseDiscardsTheResult() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        try temp.spool.drop(noop("l"), into: build)
        guard case .claimed(let claim) = try temp.spool.claim("l.json", in: build, leaseSeconds: 30) else {
            Issue.record("not claimed")
            return
        }
        // Another agent took it, as it may once the lease has run out (the holder was stopped for that long):
        // the claim name is gone.
        try FileSystem.rename(claim.path, temp.spool.path(build, .cur) + "/l@other@1@30.json")
        let result = ResultFile(task: claim.task, queue: build, status: .ok, host: temp.spool.host, pid: 1,
                                started: nil, finished: .now())
        #expect(try temp.spool.finish(claim, result: result, now: claim.claimed + 40) == .leaseLost)
        #expect(temp.names("results", .new).isEmpty)
        #expect(!temp.spool.renew(claim))
    }

    @Test func doneNamesNeverCollide() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        for _ in 0..<3 {
            try temp.spool.drop(noop("again"), into: build)
            guard case .claimed(let claim) = try temp.spool.claim("again.json", in: build, leaseSeconds: 30) else {
                Issue.record("not claimed")
                return
            }
            let result = ResultFile(task: claim.task, queue: build, status: .ok, host: temp.spool.host, pid: 1,
                                    started: nil, finished: .now())
            _ = try temp.spool.finish(claim, result: result)
            try? FileSystem.unlink(temp.spool.path(.results, .new) + "/again.json")
        }
        #expect(temp.settled("build", .done) == ["again.json", "again~2.json", "again~3.json"])
    }

    /// Workers of one process trying the same files at the same moment: one claim per file. The loser's rename
    /// fails with ENOENT and it then looks for its own target name, which must not be the winner's.
    @Test func workersOfOneProcessClaimEachFileOnce() async throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        let spool = temp.spool
        let names = (0..<400).map { String(format: "w%04d", $0) }
        for name in names { try spool.drop(noop(name), into: build) }
        let claims = await withTaskGroup(of: [String].self) { group in
            for _ in 0..<6 {
                group.addTask {
                    var mine: [String] = []
                    for name in names {
                        if case .claimed(let claim)? = try? spool.claim(name + ".json", in: build, leaseSeconds: 30) {
                            mine.append(claim.task.id.rawValue)
                        }
                    }
                    return mine
                }
            }
            return await group.reduce(into: [String]()) { $0 += $1 }
        }
        #expect(claims.count == names.count)
        #expect(Set(claims) == Set(names))
        #expect(temp.names("build", .cur).count == names.count)
    }
}
