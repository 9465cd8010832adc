import DZSpool
import DZSystem
import Testing

@Suite struct TaskFileTests {
    @Test func minimalFormTakesIdFromStem() throws {
        let task = try TaskFile(parsing: Array(#"{"task": "noop"}"#.utf8), stem: "abc")
        #expect(task.id.rawValue == "abc")
        #expect(task.attempt == 1)
        #expect(task.maxAttempts == TaskFile.defaultMaxAttempts)
        #expect(task.replyTo == .results)
        #expect(task.args.isEmpty)
    }

    @Test func unknownFieldsSurviveARewrite() throws {
        let text = #"{"task":"echo","args":{"a":[1,2.5,"x",null,true]},"owner":{"name":"ops"},"attempt":2,"not_before":"2026-11-29T10:00:00Z"}"#
        let task = try TaskFile(parsing: Array(text.utf8), stem: "t1")
        let again = try TaskFile(parsing: task.encoded(), stem: "t1")
        #expect(again == task)
        #expect(again.extra["owner"] == .object(["name": .string("ops")]))
        #expect(again.attempt == 2)
        #expect(again.notBefore == Timestamp(rfc3339: "2026-11-29T10:00:00Z"))
    }

    @Test(arguments: [
        (#"{"task": "noop""#, "json"),
        ("[1, 2]", "type"),
        ("42", "type"),
        ("", "empty"),
        (#"{"args": {}}"#, "field"),
        (#"{"task": 3}"#, "field"),
        (#"{"task": "noop", "args": []}"#, "field"),
        (#"{"task": "noop", "attempt": "x"}"#, "field"),
        (#"{"task": "noop", "attempt": 0}"#, "field"),
        (#"{"task": "noop", "max_attempts": 1.5}"#, "field"),
        (#"{"task": "noop", "timeout_s": -1}"#, "field"),
        (#"{"task": "noop", "not_before": "tomorrow"}"#, "field"),
        (#"{"task": "noop", "reply_to": "../etc"}"#, "field"),
        (#"{"task": "../../bin/sh"}"#, "field"),
        (#"{"task": "noop", "id": "other"}"#, "name"),
    ])
    func badInputIsRejectedWithItsKind(text: String, kind: String) {
        #expect(throws: BadInput.self) { try TaskFile(parsing: Array(text.utf8), stem: "t1") }
        do {
            _ = try TaskFile(parsing: Array(text.utf8), stem: "t1")
        } catch {
            #expect(error.kind == kind, "\(text): \(error.message)")
        }
    }

    @Test func invalidUTF8IsRejected() {
        #expect(throws: BadInput("encoding", "not valid UTF-8")) {
            try TaskFile(parsing: [0x7B, 0xFF, 0xFE, 0x7D], stem: "t1")
        }
    }

    @Test func retryDelayDoublesAndIsCapped() {
        var task = noop("t")
        task.backoffSeconds = 2
        task.attempt = 1
        #expect(task.retryDelay() == 2)
        task.attempt = 3
        #expect(task.retryDelay() == 8)
        task.attempt = 40
        #expect(task.retryDelay() == 3600)
    }

    @Test func resultFileRoundTrips() throws {
        let task = noop("r1")
        let result = ResultFile(task: task, queue: build, status: .error, output: ["k": .int(1)],
                                error: .init(kind: "timeout", message: "too slow"), host: try HostID("h"),
                                pid: 7, started: Timestamp(nanoseconds: 1_000_000_000_000), finished: Timestamp(nanoseconds: 2_000_000_000_000))
        let parsed = try ResultFile(parsing: result.encoded())
        #expect(parsed == result)
    }
}

@Suite struct NameTests {
    @Test func taskIDs() {
        #expect(TaskID.isValid("20261129T002815.123456Z-host-42-deadbeef"))
        #expect(TaskID.isValid(String(repeating: "a", count: 128)))
        for bad in ["", ".hidden", "a b", "a/b", "a@b", String(repeating: "a", count: 129), "ü", "a\nb"] {
            #expect(!TaskID.isValid(bad), "accepted \(bad)")
        }
    }

    @Test func generatedIDsAreUniqueAndSortByTime() throws {
        let host = try HostID("h1")
        let ids = (0..<1000).map { _ in TaskID.generate(host: host) }
        #expect(Set(ids).count == 1000)
        #expect(ids.allSatisfy { TaskID.isValid($0.rawValue) })
        let early = TaskID.generate(host: host, at: Timestamp(nanoseconds: 1_000_000_000_000_000_000))
        let late = TaskID.generate(host: host, at: Timestamp(nanoseconds: 1_000_000_001_000_000_000))
        #expect(early < late)
    }

    @Test func queueNames() {
        for good in ["build", "appserver_i-123", "all_appservers", "results", "a.b-c"] {
            #expect(QueueName.isValid(good))
        }
        for bad in ["", "Build", "-x", "_x", "a/b", "..", "log", "hosts", "new", String(repeating: "a", count: 65)] {
            #expect(!QueueName.isValid(bad), "accepted \(bad)")
        }
    }

    @Test func hostQueuesAreValidQueueNames() throws {
        #expect(QueueName.host(try HostID("Build-1.example")).rawValue == "host_build-1.example")
        #expect(QueueName.isValid(QueueName.host(try HostID(String(repeating: "A", count: 64))).rawValue))
    }

    @Test func claimNamesRoundTrip() throws {
        let name = ClaimName(id: try TaskID("t-1.x"), host: try HostID("web.1"), pid: 4242, leaseSeconds: 30,
                             serial: 7)
        #expect(name.fileName == "t-1.x@web.1@4242@30@7.json")
        #expect(ClaimName(fileName: name.fileName) == name)
        #expect(ClaimName(fileName: name.stagedResultName) == nil)
        #expect(ClaimName(fileName: "t@h@0@30@1.json") == nil)
        #expect(ClaimName(fileName: "t@h@1.json") == nil)
        #expect(ClaimName(fileName: "t@h@1@30@0.json") == nil)
        #expect(ClaimName(fileName: "t@h@1@30@07.json") == nil)
        // Names written before serials existed.
        let old = ClaimName(fileName: "t@h@1@30.json")
        #expect(old?.serial == nil && old?.leaseSeconds == 30 && old?.fileName == "t@h@1@30.json")
    }

    @Test func everyClaimNameOfAProcessIsItsOwn() throws {
        let id = try TaskID("t"), host = try HostID("h")
        let names = (0..<100).map { _ in ClaimName.next(id: id, host: host, pid: 9, leaseSeconds: 30).fileName }
        #expect(Set(names).count == 100)
    }

    @Test func hostIDFromHostnameIsAlwaysValid() {
        #expect(!HostID.local.rawValue.isEmpty)
    }

    @Test func durations() {
        #expect(DurationText.seconds("500ms") == 0.5)
        #expect(DurationText.seconds("30s") == 30)
        #expect(DurationText.seconds("5m") == 300)
        #expect(DurationText.seconds("2h") == 7200)
        #expect(DurationText.seconds("30d") == 2_592_000)
        #expect(DurationText.seconds("2.5") == 2.5)
        #expect(DurationText.seconds("-1s") == -1)
        #expect(DurationText.problem("-1s", in: 0...10)?.contains("negative") == true)
        #expect(DurationText.problem("1e30s", in: 0...86400)?.contains("out of range") == true)
        #expect(DurationText.problem("1e400", in: 0...86400)?.contains("not a duration") == true)
        #expect(DurationText.problem("nan", in: 0...86400)?.contains("not a duration") == true)
        #expect(DurationText.problem("30s", in: 0...86400) == nil)
        #expect(DurationText.seconds("soon") == nil)
    }

    @Test func logfmtQuotesAndParsesBack() {
        let value = #"a "quoted" = value\ with\nnewline"#
        let line = "ts=1 reason=\(Logfmt.quote(value)) task=x"
        let pairs = Logfmt.parse(line[...])
        #expect(pairs.count == 3)
        #expect(pairs[1].0 == "reason")
        #expect(pairs[1].1 == value)
        #expect(Logfmt.quote("plain") == "plain")
        #expect(Logfmt.quote("") == "\"\"")
    }

    @Test func secretsAreMasked() {
        let args: [String: JSONValue] = ["db_password": .string("hunter2-long"), "name": .string("app"),
                                         "nested": .object(["api_token": .string("tok-123456")])]
        let secrets = Redaction.secrets(in: args)
        #expect(Set(secrets) == ["hunter2-long", "tok-123456"])
        #expect(Redaction.mask("login with hunter2-long failed (tok-123456)", secrets: secrets)
            == "login with *** failed (***)")
    }
}
