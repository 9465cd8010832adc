import DZSpool
import Foundation
import Testing

extension Integration {
    /// The `dz` commands as a user runs them: output, files and exit codes.
    @Suite(.serialized) struct CommandTests {
        /// Runs a `--drain` agent on `build` to its end.
        private func drain(_ spool: TestSpool) async throws {
            let agent = try spool.start(["agent", "-Q", "build", "--host-id", "drainer", "--drain"], label: "drainer")
            let exited = await agent.waitForExit(timeout: 60)
            try #require(exited && agent.exitStatus == 0, "the --drain agent: \(agent.errorTail)")
        }

        @Test func hostsShowsEachAgentAndExits1WithoutAny() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let none = try await spool.dz(["hosts"])
            #expect(none.status == 1, "\(none)")
            _ = try await spool.startAgent(host: "web1", queues: "build,appserver_web1", ["--heartbeat", "100ms"])
            let found = await waitUntil(timeout: 30) { !spool.names("hosts", "").filter { $0.hasPrefix("web1@") }.isEmpty }
            #expect(found)
            let result = try await spool.dz(["hosts", "--json"])
            #expect(result.status == 0, "\(result)")
            let hosts = try #require(try JSONValue.parse(Array(result.stdout.utf8)).arrayValue)
            let web = try #require(hosts.first { $0["host"] == .string("web1") })
            #expect(web["state"] == .string("up"))
            #expect(web["appservers"] == .array([.string("web1")]))
            #expect(web["disk_available"]?.intValue != nil)
            let table = try await spool.dz(["hosts"])
            #expect(table.stdout.contains("INODES FREE") && table.stdout.contains("web1"), "\(table)")
        }

        @Test func initCreatesTheStandardQueues() async throws {
            let spool = try TestSpool(initialize: false)
            defer { spool.cleanUp() }
            let result = try await spool.dz(["init"])
            #expect(result.status == 0, "\(result)")
            for queue in ["build", "database", "proxy", "all_appservers", "results"] {
                for stage in ["tmp", "new", "cur", "done", "failed"] {
                    var isDirectory: ObjCBool = false
                    let exists = FileManager.default.fileExists(atPath: spool.path(queue, stage), isDirectory: &isDirectory)
                    #expect(exists && isDirectory.boolValue, "\(queue)/\(stage)")
                }
            }
        }

        @Test func sendPrintsTheIdAndTheTaskWaitsInNew() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let id = try await spool.send("echo", "--arg", "greeting=hello")
            let waiting = spool.path("build", "new") + "/" + id + ".json"
            #expect(spool.names("build", "new") == [id + ".json"])
            let task = try spool.task(at: waiting)
            #expect(task.task == "echo")
            #expect(task.args["greeting"] == .string("hello"))
            #expect(task.attempt == 1)
            #expect(spool.names("build", "tmp").isEmpty)
            #expect(spool.records(event: "dropped", task: id).count == 1)
        }

        @Test func dropFromStandardInputDropsAGoodFile() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let result = try await spool.dz(["drop", "build", "-"], stdin: bytes(#"{"id": "from-stdin", "task": "noop"}"#))
            #expect(result.status == 0, "\(result)")
            #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "from-stdin")
            #expect(spool.names("build", "new") == ["from-stdin.json"])
        }

        @Test func dropOfBadInputFromStandardInputExits65AndDropsNothing() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            for bad in [#"{"task": "#, "[1, 2]", #"{"task": "noop", "attempt": "x"}"#, ""] {
                let result = try await spool.dz(["drop", "build", "-"], stdin: bytes(bad))
                #expect(result.status == 65, "input \(bad): \(result)")
            }
            #expect(spool.names("build", "new").isEmpty)
            #expect(spool.names("build", "tmp").isEmpty)
        }

        @Test func dropOfAnUnknownTaskExits65() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let file = spool.directory + "/unknown.json"
            try spool.write(bytes(#"{"task": "no-such-task"}"#), to: file)
            let result = try await spool.dz(["drop", "build", file])
            #expect(result.status == 65, "\(result)")
            #expect(spool.names("build", "new").isEmpty)
        }

        @Test func statusJSONParsesWithTheQueueCounts() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            _ = try await spool.send("noop")
            _ = try await spool.send("noop")
            _ = try await spool.send("noop", "--delay", "1h")
            let result = try await spool.dz(["status", "--json"])
            #expect(result.status == 0, "\(result)")
            let parsed = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
            let object = try #require(parsed as? [String: Any], "not a JSON object: \(result.stdout)")
            let queues = try #require(object["queues"] as? [[String: Any]], "no queues: \(result.stdout)")
            let build = try #require(queues.first { $0["queue"] as? String == "build" }, "no build queue")
            #expect(build["waiting"] as? Int == 2)
            #expect(build["deferred"] as? Int == 1)
            #expect(build["running"] as? Int == 0)
            #expect(build["failed"] as? Int == 0)
            #expect(Set(queues.compactMap { $0["queue"] as? String })
                        .isSuperset(of: ["build", "database", "proxy", "all_appservers", "results"]))
        }

        @Test func historyShowsTheTasksEventsAndWhereItIsNow() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let id = try await spool.send("noop")
            try await drain(spool)
            let result = try await spool.dz(["history", id])
            #expect(result.status == 0, "\(result)")
            let lines = result.stdout.split(separator: "\n").map(String.init)
            for event in ["dropped", "claimed", "finished"] {
                #expect(lines.contains { $0.contains("event=\(event)") && $0.contains(id) }, "no \(event) line:\n\(result.stdout)")
            }
            #expect(lines.contains { $0.hasPrefix("now:") && $0.contains("build/done/") && $0.hasSuffix(id + ".json") },
                    "no now: line in done/:\n\(result.stdout)")
            #expect(lines.contains { $0.hasPrefix("now:") && $0.contains("results/new/" + id + ".json") },
                    "no now: line for the result:\n\(result.stdout)")
        }

        @Test func historyOfAnUnknownIdExits1() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let result = try await spool.dz(["history", "no-such-task-id"])
            #expect(result.status == 1, "\(result)")
        }

        @Test func requeueFailedPutsAFailedTaskBackWithAttemptOne() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            // Retryable, two attempts: it fails for good at attempt 2.
            let id = try await spool.send("fail", "--arg", "message=boom", "--arg", "retryable=true",
                                          "--max-attempts", "2", "--backoff", "100ms")
            let agent = try await spool.startAgent(host: "h1", ["--rescan", "200ms"])
            let failed = await waitUntil(timeout: 60) { spool.findInDays("build", "failed", id + ".json") != nil }
            try #require(failed, "the fail task did not reach failed/\n\(agent.errorTail)")
            agent.send(SIGTERM)
            let stopped = await agent.waitForExit(timeout: 60)
            try #require(stopped, "\(agent.errorTail)")
            let failedPath = try #require(spool.findInDays("build", "failed", id + ".json"))
            #expect(try spool.task(at: failedPath).attempt == 2)
            #expect(try spool.result(id)?.status == .error)

            let result = try await spool.dz(["requeue", "--failed", id])
            #expect(result.status == 0, "\(result)")
            let waiting = spool.path("build", "new") + "/" + id + ".json"
            #expect(FileManager.default.fileExists(atPath: waiting), "not back in new/: \(spool.names("build", "new"))")
            if FileManager.default.fileExists(atPath: waiting) {
                #expect(try spool.task(at: waiting).attempt == 1)
            }
            #expect(spool.findInDays("build", "failed", id + ".json") == nil)
            #expect(spool.records(event: "requeued", task: id).count == 1)
        }

        @Test func aDrainingAgentSaysWhyItLeavesAFileWaitingOutSettle() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            // Half a copy, just written: it does not parse yet, and --settle is an hour.
            try spool.write(Array(#"{"task": "ec"#.utf8), to: spool.path("build", "new") + "/half-1.json")
            let agent = try spool.start(["agent", "-Q", "build", "--host-id", "drainer", "--drain", "--settle", "1h"],
                                        label: "drainer")
            let exited = await agent.waitForExit(timeout: 60)
            try #require(exited && agent.exitStatus == 0, "\(agent.errorTail)")
            #expect(agent.standardError.contains("left in new/: build/new/half-1.json, which do not parse yet"),
                    "\(agent.errorTail)")
            #expect(spool.names("build", "new") == ["half-1.json"], "left where it was")
            let status = try await spool.dz(["status"])
            #expect(status.stdout.contains("build/new/half-1.json: waiting, as it does not parse yet"), "\(status)")
        }

        @Test func requeueFailedAllExits65WhenATaskCouldNotBePutBack() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            // A failed task whose id waits again in new/ cannot go back; a file that never was a task is only said.
            let day = spool.path("build", "failed") + "/2026-01-01"
            try FileManager.default.createDirectory(atPath: day, withIntermediateDirectories: true)
            let task = Array(#"{"task": "noop"}"#.utf8)
            try spool.write(task, to: day + "/stuck-1.json")
            try spool.write(task, to: spool.path("build", "new") + "/stuck-1.json")
            try spool.write(Array("not json".utf8), to: day + "/junk-1.json")
            let blocked = try await spool.dz(["requeue", "--failed", "--all", "--queue", "build"])
            #expect(blocked.status == 65, "\(blocked)")
            #expect(blocked.stderr.contains("stuck-1") && blocked.stderr.contains("junk-1"), "\(blocked)")
            // Once the waiting copy is gone, only the bad file is left: reported, exit 0.
            try FileManager.default.removeItem(atPath: spool.path("build", "new") + "/stuck-1.json")
            let requeued = try await spool.dz(["requeue", "--failed", "--all", "--queue", "build"])
            #expect(requeued.status == 0, "\(requeued)")
            #expect(requeued.stdout.contains("build stuck-1"), "\(requeued)")
            #expect(requeued.stderr.contains("junk-1"), "\(requeued)")
        }

        @Test func requeueFailedOfAnUnknownIdExits1() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let result = try await spool.dz(["requeue", "--failed", "no-such-task-id"])
            #expect(result.status == 1, "\(result)")
        }

        @Test func gcRemovesDayDirectoriesOlderThanTheCutoffDay() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let manager = FileManager.default
            let oldDone = spool.path("build", "done") + "/2020-01-01"
            let oldFailed = spool.path("build", "failed") + "/2020-01-01"
            for dir in [oldDone, oldFailed] {
                try manager.createDirectory(atPath: dir, withIntermediateDirectories: true)
                try spool.write(bytes(#"{"task": "noop"}"#), to: dir + "/x.json")
            }
            // Today's work: gc removes only day directories strictly older than the cutoff day.
            let id = try await spool.send("noop")
            try await drain(spool)
            let today = try #require(spool.findInDays("build", "done", id + ".json"))

            let result = try await spool.dz(["gc", "--older-than", "0d"])
            #expect(result.status == 0, "\(result)")
            #expect(!manager.fileExists(atPath: oldDone), "done/2020-01-01 is still there")
            #expect(!manager.fileExists(atPath: oldFailed), "failed/2020-01-01 is still there")
            let dayOfToday = ((today as NSString).deletingLastPathComponent as NSString).lastPathComponent
            if dayOfToday == Self.utcDay() {  // unless midnight (UTC) passed meanwhile
                #expect(manager.fileExists(atPath: today), "today's done file was removed")
            }
        }

        @Test func usageErrorsExit64() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let cases: [[String]] = [
                ["agent"],
                ["agent", "-Q", "build", "--lease", "forever"],
                ["agent", "-Q", "build", "--no-such-flag"],
                ["send", "nosuchtask"],
                ["send", "noop", "--queue", "Bad/Queue"],
                ["send", "noop", "--arg", "no-equals-sign"],
                ["requeue"],
            ]
            for args in cases {
                let result = try await spool.dz(args)
                #expect(result.status == 64, "dz \(args.joined(separator: " ")): \(result)")
            }
            #expect(spool.names("build", "new").isEmpty)
        }

        /// Durations, counts and parameters at extreme values: a usage error that says why, never a crash, and
        /// nothing dropped or started.
        @Test func outOfRangeFlagsAndParametersExit64WithAReason() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let cases: [([String], String)] = [
                (["agent", "-Q", "build", "--lease", "1e30s"], "out of range"),
                (["agent", "-Q", "build", "--lease", "-1s"], "negative"),
                (["agent", "-Q", "build", "--rescan", "nan"], "not a duration"),
                (["agent", "-Q", "build", "--task-timeout", "1e400"], "not a duration"),
                (["agent", "-Q", "build", "--poison-limit", "0"], "--poison-limit"),
                (["coordinator", "--rescan", "inf"], "not a duration"),
                (["coordinator", "--recover-after", "1s"], "at least 30s"),
                (["send", "noop", "--delay", "1e10s"], "out of range"),
                (["send", "noop", "--delay", "-5m"], "negative"),
                (["send", "noop", "--timeout", "0"], "out of range"),
                (["send", "noop", "--max-attempts", "0"], "--max-attempts"),
                (["send", "noop", "--queue", "results"], "inbox"),
                (["send", "noop", "--queue", "jobs"], "inbox"),
                (["send", "noop", "--reply-to", "build"], "own queue"),
                (["send", "noop", "--reply-to", "jobs"], "jobs queue"),
                (["gc", "--older-than", "-1d"], "negative"),
                (["requeue", "--stale", "--skew", "1e300"], "out of range"),
                (["hosts", "--max-age", "0"], "out of range"),
                (["job", "wait", "J1", "--timeout", "-3s"], "negative"),
                (["job", "submit", "selftest", "--param", "timeout_s=1e10"], "timeout_s"),
                (["job", "submit", "selftest", "--param", "max_attempts=1e300"], "max_attempts"),
                (["job", "submit", "selftest", "--param", "backoff_s=nan"], "backoff_s"),
                (["job", "submit", "selftest", "--param", "timeout_s=-1"], "timeout_s"),
                (["job", "submit", "selftest", "--param", "timeout_s=inf"], "timeout_s"),
            ]
            for (args, reason) in cases {
                let result = try await spool.dz(args, timeout: 30)
                #expect(result.status == 64 && result.stderr.contains(reason),
                        "dz \(args.joined(separator: " ")): \(result)")
            }
            #expect(spool.names("build", "new").isEmpty && spool.names("jobs", "new").isEmpty)
        }

        static func utcDay() -> String {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = "yyyy-MM-dd"
            return formatter.string(from: Date())
        }
    }
}
