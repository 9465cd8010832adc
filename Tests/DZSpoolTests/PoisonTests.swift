import DZSpool
import DZSystem
import Testing

/// A file whose handling kills its holder every time is set aside, not retried for ever.
@Suite struct PoisonTests {
    /// Claims `id` as a process of this host that is gone (pid above the default pid_max).
    func dieHolding(_ temp: TemporarySpool, _ id: String) throws {
        let dead = try temp.other(host: temp.spool.host.rawValue, pid: 4_194_305)
        guard case .claimed = try dead.claim(id + ".json", in: build, leaseSeconds: 600) else {
            throw SpoolError.notFound(id)
        }
    }

    @Test func taskWhoseHoldersKeepDyingIsSetAsideAsPoison() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        var task = noop("killer")
        task.maxAttempts = 1_000_000
        task.backoffSeconds = 0
        try temp.spool.drop(task, into: build)
        try dieHolding(temp, "killer")
        #expect(try temp.spool.reap(build, leaseSeconds: 30) == [.requeued(try TaskID("killer"), attempt: 2)])
        try dieHolding(temp, "killer")
        #expect(try temp.spool.reap(build, leaseSeconds: 30) == [.requeued(try TaskID("killer"), attempt: 3)])
        try dieHolding(temp, "killer")
        #expect(try temp.spool.reap(build, leaseSeconds: 30) == [.poisoned(try TaskID("killer"))])
        #expect(temp.settled("build", .failed) == ["killer.json"])
        #expect(temp.reason("build", .failed, "killer.json")?.contains("kind=poison") == true)
        #expect(temp.names("build", .cur).isEmpty)
        #expect(temp.names("build", .new).isEmpty)
        // Whoever waits for it learns why.
        let result = try ResultFile(parsing: try FileIO.readAll(temp.spool.path(.results, .new) + "/killer.json"))
        #expect(result.error?.kind == "poison")
    }

    @Test func fileThatDoesNotEvenParseIsSetAsideAsPoison() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        // What killed the holder may be the reading itself: the count comes before the file is read.
        try temp.write("build", "odd.json", "{\"task\": \"noop\"}", age: 0)
        for _ in 1...3 {
            let dir = temp.spool.path(build, .cur)
            try FileSystem.rename(temp.spool.path(build, .new) + "/odd.json",
                                  dir + "/odd@\(temp.spool.host.rawValue)@4194305@600@1.json")
            _ = try temp.spool.reap(build, leaseSeconds: 30, poisonLimit: 3)
            if temp.names("build", .new) == ["odd.json"] {
                // Requeued with attempt + 1, as any task: take it again.
                continue
            }
        }
        #expect(temp.settled("build", .failed) == ["odd.json"])
        #expect(temp.reason("build", .failed, "odd.json")?.contains("kind=poison") == true)
    }

    @Test func coordinatorInboxFileThatKillsItIsSetAsideOnItsThirdRestart() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        try temp.write("results", "r.json", "{\"id\": \"r\", \"status\": \"ok\"}", age: 0)
        for restart in 1...3 {
            // The coordinator took it and died while reading it.
            let dead = try temp.other(host: temp.spool.host.rawValue, pid: 4_194_305)
            _ = try dead.take("r.json", in: .results)
            let released = try temp.spool.releaseAll(.results, countingDeaths: true)
            if restart < 3 {
                #expect(released.count == 1 && released.poisoned.isEmpty)
            } else {
                #expect(try released.count == 0 && released.poisoned == [TaskID("r")])
            }
        }
        #expect(temp.settled("results", .failed) == ["r.json"])
        #expect(temp.reason("results", .failed, "r.json")?.contains("kind=poison") == true)
    }

    @Test func aHolderThatMerelyStoppedRenewingIsNotCountedAsADeath() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        var task = noop("slow")
        task.maxAttempts = 10
        task.backoffSeconds = 0
        try temp.spool.drop(task, into: build)
        for attempt in 2...5 {
            let silent = try temp.other(host: "elsewhere", pid: 4242)
            guard case .claimed = try silent.claim("slow.json", in: build, leaseSeconds: 1) else { return }
            #expect(try temp.spool.reap(build, leaseSeconds: 30, skew: 0, now: .now() + 100)
                == [.requeued(try TaskID("slow"), attempt: attempt)])
        }
        #expect(temp.settled("build", .failed).isEmpty)
    }
}
