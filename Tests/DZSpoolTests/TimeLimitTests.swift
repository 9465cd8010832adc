@testable import DZSpool
import DZSystem
import Glibc
import Testing

/// Times, durations and counts from outside are range-checked where they are read, and no time arithmetic traps.
@Suite struct TimeLimitTests {
    @Test func timeArithmeticSaturatesInsteadOfTrapping() {
        #expect(Timestamp.now() + 1e300 == .distantFuture)
        #expect(Timestamp.now() + -1e300 == .distantPast)
        #expect(Timestamp.distantFuture + 1 == .distantFuture)
        #expect(Timestamp(seconds: .nan).nanoseconds == 0)
        #expect(Timestamp(seconds: .infinity) == .distantFuture)
        #expect((Timestamp.distantFuture - Timestamp.distantPast) > 5e8)
        #expect(Int(saturating: 1e300) == Int.max)
        #expect(UInt64(saturating: -5) == 0)
        #expect(Int32(saturating: .nan) == 0)
    }

    @Test func timesOutsideTheAcceptedRangeDoNotParse() {
        #expect(Timestamp(rfc3339: "2262-04-12T00:00:00Z") == nil)
        #expect(Timestamp(rfc3339: "9999-12-31T23:59:59Z") == nil)
        #expect(Timestamp(rfc3339: "1677-01-01T00:00:00Z") == nil)
        #expect(Timestamp(rfc3339: "1969-12-31T23:59:59Z") == nil)
        #expect(Timestamp(rfc3339: "2199-12-31T23:59:59Z") != nil)
        #expect(Timestamp(rfc3339: "1970-01-01T00:00:00Z") != nil)
    }

    @Test func taskFieldsOutOfRangeAreBadInputNamingTheField() {
        let cases: [(String, String)] = [
            (#"{"task":"noop","not_before":"9999-01-01T00:00:00Z"}"#, "not_before"),
            (#"{"task":"noop","created":"1600-01-01T00:00:00Z"}"#, "created"),
            (#"{"task":"noop","timeout_s":1e10}"#, "timeout_s"),
            (#"{"task":"noop","timeout_s":0}"#, "timeout_s"),
            (#"{"task":"noop","backoff_s":-1}"#, "backoff_s"),
            (#"{"task":"noop","backoff_s":1e300}"#, "backoff_s"),
            (#"{"task":"noop","max_attempts":1e300}"#, "max_attempts"),
            (#"{"task":"noop","attempt":0}"#, "attempt"),
        ]
        for (text, field) in cases {
            #expect(throws: BadInput.self, "\(text)") { try TaskFile(parsing: Array(text.utf8), stem: "t") }
            do { _ = try TaskFile(parsing: Array(text.utf8), stem: "t") } catch {
                #expect(error.message.contains(field), "\(error.message)")
            }
        }
    }

    @Test func resultTimesOutOfRangeAreBadInput() {
        let text = #"{"id":"t","status":"ok","finished":"9999-01-01T00:00:00Z"}"#
        #expect(throws: BadInput.self) { try ResultFile(parsing: Array(text.utf8)) }
    }

    @Test func fileTouchedFarIntoTheFutureIsClaimedNotDeferredForEver() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        try temp.spool.drop(noop("late"), into: build)
        // Year 2300: past what nanoseconds in 64 bits hold.
        let mtime = timespec(tv_sec: 10_413_792_000, tv_nsec: 0)
        var times = [mtime, mtime]
        #expect(utimensat(AT_FDCWD, temp.spool.path(build, .new) + "/late.json", &times, 0) == 0)
        guard case .claimed(let claim) = try temp.spool.claim("late.json", in: build, leaseSeconds: 30) else {
            Issue.record("a far-future mtime kept the task waiting")
            return
        }
        #expect(claim.task.id.rawValue == "late")
    }

    @Test func unparseableFileTouchedFarIntoTheFutureIsRejectedNotHeldForEver() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        for (name, seconds) in [("late.json", 10_413_792_000), ("next-year.json", Int(Timestamp.now().seconds) + 400 * 86_400)] {
            try temp.write("build", name, "{")
            let mtime = timespec(tv_sec: seconds, tv_nsec: 0)
            var times = [mtime, mtime]
            #expect(utimensat(AT_FDCWD, temp.spool.path(build, .new) + "/" + name, &times, 0) == 0)
            guard case .rejected(let bad) = try temp.spool.claim(name, in: build, leaseSeconds: 30, settle: 10) else {
                Issue.record("\(name) was not rejected: its mtime kept it waiting to settle")
                continue
            }
            #expect(bad.kind == "json")
        }
        #expect(temp.settled("build", .failed) == ["late.json", "next-year.json"])
    }

    @Test func notBeforeMoreThanAYearAheadIsBadInput() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        var task = noop("far")
        task.notBefore = .now() + 2 * 366 * 86_400
        try temp.spool.drop(task, into: build)
        try FileSystem.touch(temp.spool.path(build, .new) + "/far.json", modified: .now())
        guard case .rejected(let bad) = try temp.spool.claim("far.json", in: build, leaseSeconds: 30) else {
            Issue.record("accepted")
            return
        }
        #expect(bad.message.contains("not_before"))
    }

    @Test func resultSentToTheTasksOwnQueueIsRefused() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        var task = noop("loop")
        task.replyTo = build
        #expect(throws: SpoolError.self) { try temp.spool.drop(task, into: build) }
        try temp.write("build", "loop.json", #"{"task":"noop","reply_to":"build"}"#)
        guard case .rejected = try temp.spool.claim("loop.json", in: build, leaseSeconds: 30) else {
            Issue.record("accepted a task whose result would be run as a task")
            return
        }
    }

    @Test func taskOverTheSizeLimitIsNotDropped() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        let task = TaskFile(id: try TaskID("big"), task: "echo",
                            args: ["blob": .string(String(repeating: "x", count: TaskFile.maxSize))])
        #expect(throws: SpoolError.self) { try temp.spool.drop(task, into: build) }
        #expect(temp.names("build", .new).isEmpty)
        #expect(temp.names("build", .tmp).isEmpty)
    }
}

/// Names no agent can claim or show are set aside with a reason, whatever their length or bytes.
@Suite struct OddNameTests {
    @Test func namesTooLongForAReasonAreShortenedAndKeptWithTheirReason() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        for letter in ["a", "b"] {
            let name = String(repeating: letter, count: 240) + "-\u{e9}.json"
            try temp.write("build", name, "{}")
            guard case .rejected = try temp.spool.claim(name, in: build, leaseSeconds: 30) else {
                Issue.record("not rejected: \(name)")
                continue
            }
        }
        let kept = temp.settled("build", .failed)
        #expect(kept.count == 2, "\(kept)")
        for name in kept {
            #expect(name.utf8.count + 7 <= 255)
            #expect(temp.reason("build", .failed, name)?.contains("file=") == true)
        }
    }

    @Test func namesThatAreNotUTF8AreSetAsideAndCounted() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        let dir = temp.spool.path(build, .new)
        let bad: [UInt8] = Array("x".utf8) + [0xFF, 0xFE] + Array(".json".utf8)
        let fd = (dir + "/").utf8CString.withUnsafeBufferPointer { prefix -> Int32 in
            let full = Array(prefix.dropLast()).map { UInt8(bitPattern: $0) } + bad + [0]
            return full.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_WRONLY | O_CREAT, 0o600) }
            }
        }
        #expect(fd >= 0)
        close(fd)
        #expect(temp.spool.status(of: build).waiting == 1)
        let moved = temp.spool.rejectUnreadableNames(in: build)
        #expect(moved == ["unreadable-name-78fffe2e6a736f6e.json"])
        #expect(temp.spool.status(of: build).waiting == 0)
        #expect(temp.reason("build", .failed, moved[0])?.contains("not valid UTF-8") == true)
    }

    @Test func logLinesEscapeWhatWouldForgeAnotherLine() {
        let line = LogfmtLogHandler.line(level: .warning, label: "dz.agent", message: "bad input\nlevel=critical",
                                         metadata: ["file": "x\ny.json", "odd key": "v"], journal: false,
                                         time: .now())
        #expect(line.filter { $0 == "\n" }.count == 1 && line.hasSuffix("\n"))
        #expect(line.contains(#"file="x\ny.json""#) && line.contains("odd_key=v"))
        let journal = LogfmtLogHandler.line(level: .error, label: "dz", message: "m", metadata: [:], journal: true,
                                            time: .now())
        #expect(journal.hasPrefix("<3>level=error"))
    }
}
