import DZSpool
import DZSystem
import Foundation
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension Integration {
    /// How a real agent and coordinator speak to systemd (sd_notify on a real datagram socket given as
    /// NOTIFY_SOCKET, as systemd does for Type=notify), to the journal (JOURNAL_STREAM) and to Prometheus.
    @Suite(.serialized) struct TelemetryTests {
        /// Collects what a process sends to its NOTIFY_SOCKET.
        final class NotifyReceiver {
            let path: String
            let socket: UnixDatagramSocket
            private(set) var messages: [String] = []

            init(directory: String) throws {
                path = directory + "/notify.sock"
                socket = try UnixDatagramSocket(binding: path)
            }

            /// Reads datagrams until one satisfies `condition` (true) or `timeout` passes (false).
            func waitFor(timeout: Double, _ condition: (String) -> Bool) throws -> Bool {
                let deadline = Date().addingTimeInterval(timeout)
                while Date() < deadline {
                    guard let bytes = try socket.receive(timeout: max(0, deadline.timeIntervalSinceNow)) else { continue }
                    let message = String(decoding: bytes, as: UTF8.self)
                    messages.append(message)
                    if condition(message) { return true }
                }
                return false
            }
        }

        @Test(.timeLimit(.minutes(3)))
        func agentSaysReadyAfterItsFirstScanPingsTheWatchdogAndSaysStoppingOnSigterm() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let receiver = try NotifyReceiver(directory: spool.directory)
            let waiting = try await spool.send("noop", "--queue", "build")
            let agent = try spool.start(["agent", "-Q", "build", "--host-id", "h1", "--grace", "1s"], label: "agent-h1",
                                        environment: ["NOTIFY_SOCKET": receiver.path, "WATCHDOG_USEC": "400000"])
            let ready = try receiver.waitFor(timeout: 60) { $0.contains("READY=1\n") }
            try #require(ready, "no READY=1: \(receiver.messages)\n\(agent.errorTail)")
            // The first scan is done by then: the task that waited has been seen (and run or being run).
            let readyMessage = try #require(receiver.messages.last)
            #expect(readyMessage.contains("STATUS="), "\(readyMessage)")
            #expect(readyMessage.contains("/4 running; build "), "\(readyMessage)")
            #expect(!spool.records(event: "agent-started").isEmpty)
            var pings = 0
            let watched = try receiver.waitFor(timeout: 60) { message in
                if message == "WATCHDOG=1\n" { pings += 1 }
                return pings >= 3
            }
            #expect(watched, "fewer than 3 WATCHDOG=1 (WATCHDOG_USEC 0.4 s): \(receiver.messages)")
            #expect(await waitUntil(timeout: 60) { spool.isSettled(waiting) })

            agent.send(SIGTERM)
            let stopping = try receiver.waitFor(timeout: 60) { $0.hasPrefix("STOPPING=1\n") }
            #expect(stopping, "no STOPPING=1 after SIGTERM: \(receiver.messages.suffix(5))")
            #expect(await agent.waitForExit(timeout: 60), "\(agent.errorTail)")
            #expect(agent.exitStatus == 0, "\(agent.errorTail)")
        }

        @Test(.timeLimit(.minutes(3)))
        func coordinatorSaysReadyWithItsQueuesAndStoppingOnSigterm() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let receiver = try NotifyReceiver(directory: spool.directory)
            let coordinator = try spool.start(["coordinator", "--rescan", "200ms", "--no-fsync"], label: "coordinator",
                                              environment: ["NOTIFY_SOCKET": receiver.path])
            let ready = try receiver.waitFor(timeout: 60) { $0.hasPrefix("READY=1\n") }
            try #require(ready, "no READY=1: \(receiver.messages)\n\(coordinator.errorTail)")
            let message = try #require(receiver.messages.last)
            #expect(message.contains("STATUS=0 jobs running; results 0 waiting, jobs 0 waiting"), "\(message)")
            #expect(!spool.records(event: "coordinator-started").isEmpty, "READY=1 before the coordinator started")
            #expect(!receiver.messages.contains("WATCHDOG=1\n"), "a watchdog ping without WATCHDOG_USEC")
            coordinator.send(SIGTERM)
            #expect(try receiver.waitFor(timeout: 60) { $0.hasPrefix("STOPPING=1\n") }, "\(receiver.messages)")
            #expect(await coordinator.waitForExit(timeout: 60), "\(coordinator.errorTail)")
            #expect(coordinator.exitStatus == 0, "\(coordinator.errorTail)")
        }

        /// Runs `dz args...` through /bin/sh with JOURNAL_STREAM set to its standard error's device:inode (as
        /// systemd does when stderr is the journal), or to another file's.
        private func runWithJournalStream(_ spool: TestSpool, matching: Bool, _ args: [String]) async throws -> String {
            let dz = try DZBinary.path()
            let stream = matching ? "$(stat -L -c %d:%i /dev/stderr)" : "$(stat -L -c %d:%i /dev/null)"
            let script = "JOURNAL_STREAM=\(stream) exec \"$0\" \"$@\""
            let result = try await spool.tool("/bin/sh", ["-c", script, dz] + spool.arguments(args, via: nil), timeout: 120)
            #expect(result.status == 0, "\(result)")
            return result.stderr
        }

        @Test(.timeLimit(.minutes(3)))
        func logLinesCarrySyslogPrioritiesOnlyWhenStandardErrorIsTheJournal() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            _ = try await spool.send("noop")
            // Not a task: moved to failed/ with a warning once it has settled.
            try spool.write(Array("not json".utf8), to: spool.path("build", "new") + "/garbage.json")
            let arguments = ["agent", "-Q", "build", "--host-id", "h1", "--drain", "--settle", "0s"]
            let journal = try await runWithJournalStream(spool, matching: true, arguments)
            let lines = journal.split(separator: "\n")
            #expect(!lines.isEmpty)
            #expect(lines.allSatisfy { $0.hasPrefix("<") }, "\(journal)")
            #expect(lines.contains { $0.hasPrefix("<6>level=info label=dz.agent msg=\"agent started\"") }, "\(journal)")
            #expect(lines.contains { $0.hasPrefix("<4>level=warning label=dz.agent msg=\"bad input moved to failed/\"") },
                    "\(journal)")

            _ = try await spool.send("noop")
            let plain = try await runWithJournalStream(spool, matching: false, arguments)
            let plainLines = plain.split(separator: "\n")
            #expect(!plainLines.isEmpty)
            #expect(plainLines.allSatisfy { $0.hasPrefix("ts=") && $0.contains(" level=") }, "\(plain)")
        }
    }
}

extension Integration {
    /// The metrics file of a real agent and coordinator, read by Prometheus's own parser (prometheus_client).
    @Suite(.serialized) struct MetricsFileTests {
        /// The samples of an exposition file, by sample name: [(labels, value)], parsed by prometheus_client.
        static func parse(_ spool: TestSpool, _ path: String) async throws -> [String: [([String: String], Double)]] {
            let program = """
                import json, sys
                from prometheus_client.parser import text_string_to_metric_families
                out = {}
                for family in text_string_to_metric_families(open(sys.argv[1]).read()):
                    for sample in family.samples:
                        out.setdefault(sample.name, []).append([sample.labels, sample.value])
                print(json.dumps(out))
                """
            let result = try await spool.tool("/usr/bin/env", ["python3", "-c", program, path])
            guard result.status == 0 else {
                throw SetupFailure("prometheus_client could not parse \(path) (pip install prometheus_client): \(result)")
            }
            let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: [[Any]]] ?? [:]
            return object.mapValues { samples in
                samples.compactMap { pair in
                    guard pair.count == 2, let labels = pair[0] as? [String: String], let value = pair[1] as? Double
                    else { return nil }
                    return (labels, value)
                }
            }
        }

        static func value(_ samples: [String: [([String: String], Double)]], _ name: String,
                          _ labels: [String: String]) -> Double?
        {
            samples[name]?.first { $0.0 == labels }?.1
        }

        @Test(.timeLimit(.minutes(3)))
        func anAgentsCountersMatchTheTasksItRan() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            for _ in 0..<5 { _ = try await spool.send("noop") }
            for _ in 0..<2 { _ = try await spool.send("fail", "--max-attempts", "1") }
            try spool.write(Array("not json".utf8), to: spool.path("build", "new") + "/garbage.json")
            let file = spool.directory + "/agent.prom"
            let agent = try spool.start(["agent", "-Q", "build", "--host-id", "h1", "--drain", "--settle", "0s",
                                         "--metrics-file", file], label: "agent-h1")
            #expect(await agent.waitForExit(timeout: 120), "\(agent.errorTail)")
            #expect(agent.exitStatus == 0, "\(agent.errorTail)")
            let samples = try await Self.parse(spool, file)
            let build = ["queue": "build"]
            #expect(Self.value(samples, "dz_tasks_total", ["queue": "build", "outcome": "ok"]) == 5, "\(samples)")
            #expect(Self.value(samples, "dz_tasks_total", ["queue": "build", "outcome": "failed"]) == 2)
            #expect(Self.value(samples, "dz_tasks_total", ["queue": "build", "outcome": "rejected"]) == 1)
            #expect(Self.value(samples, "dz_tasks_total", ["queue": "build", "outcome": "retried"]) == 0)
            #expect(Self.value(samples, "dz_task_run_seconds_count", build) == 7)
            #expect(Self.value(samples, "dz_task_pickup_seconds_count", build) == 7)
            #expect(Self.value(samples, "dz_task_run_seconds_bucket", ["queue": "build", "le": "+Inf"]) == 7)
            #expect(Self.value(samples, "dz_queue_tasks", ["queue": "build", "state": "waiting"]) == 0)
            #expect(Self.value(samples, "dz_queue_oldest_task_age_seconds", build) == 0)
            #expect(Self.value(samples, "dz_agent_concurrency", [:]) == 4)
            // Written by rename: no temporary file is left beside it.
            let left = try FileManager.default.contentsOfDirectory(atPath: spool.directory).filter { $0.hasSuffix(".tmp") }
            #expect(left.isEmpty, "\(left)")
        }

        @Test(.timeLimit(.minutes(4)))
        func theCoordinatorsFileCountsJobsByKindAndOutcomeWithTheirDurations() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            try Spool(root: spool.root, host: HostID("tester"), sync: false).create(QueueName("appserver_app1"))
            let file = spool.directory + "/coordinator.prom"
            let coordinator = try spool.start(["coordinator", "--rescan", "200ms", "--no-fsync", "--metrics-file", file],
                                              label: "coordinator")
            _ = try await spool.startAgent(host: "h1", queues: "build,database,proxy,appserver_app1",
                                           ["--rescan", "500ms", "--no-fsync", "--data-dir", spool.directory + "/var"])
            for params in [[], ["fail=upload", "max_attempts=1"]] {
                let result = try await spool.dz(["job", "submit", "selftest", "--project", "demo", "--wait"]
                                                + params.flatMap { ["--param", $0] }, timeout: 180)
                #expect(result.status == (params.isEmpty ? 0 : 1), "\(result)")
            }
            coordinator.send(SIGTERM)
            #expect(await coordinator.waitForExit(timeout: 60), "\(coordinator.errorTail)")
            let samples = try await Self.parse(spool, file)
            #expect(Self.value(samples, "dz_jobs_total", ["kind": "selftest", "outcome": "succeeded"]) == 1, "\(samples)")
            #expect(Self.value(samples, "dz_jobs_total", ["kind": "selftest", "outcome": "failed"]) == 1)
            #expect(Self.value(samples, "dz_job_duration_seconds_count", ["kind": "selftest", "outcome": "succeeded"]) == 1)
            // Every step's result and each request went through intake.
            let results = Self.value(samples, "dz_coordinator_intake_seconds_count", ["queue": "results"]) ?? 0
            #expect(results >= 9, "\(samples["dz_coordinator_intake_seconds_count"] ?? [])")
            #expect(Self.value(samples, "dz_coordinator_intake_seconds_count", ["queue": "jobs"]) == 2)
            #expect(Self.value(samples, "dz_queue_tasks", ["queue": "results", "state": "waiting"]) == 0)
        }

        @Test(.timeLimit(.minutes(2)))
        func aMetricsFileInADirectoryThatDoesNotExistIsAUsageError() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            for command in [["agent", "-Q", "build", "--drain"], ["coordinator"]] {
                let result = try await spool.dz(command + ["--metrics-file", spool.directory + "/missing/dz.prom"])
                #expect(result.status == 64, "\(result)")
                #expect(result.stderr.contains("--metrics-file (or DZ_METRICS_FILE): \(spool.directory)/missing is not a directory"),
                        "\(result.stderr)")
                let directory = try await spool.dz(command + ["--metrics-file", spool.directory])
                #expect(directory.status == 64, "\(directory)")
            }
        }

        @Test(.timeLimit(.minutes(3)))
        func anAgentsQueueDepthAndOldestAgeAreInTheFileWhileItRuns() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let file = spool.directory + "/agent.prom"
            // A task deferred for an hour waits; a second queue nobody sends to stays empty.
            _ = try await spool.send("noop", "--delay", "1h")
            _ = try await spool.send("sleep", "--arg", "seconds=60")
            let agent = try await spool.startAgent(host: "h1", queues: "build,other", ["--metrics-file", file])
            let written = await waitUntil(timeout: 60) {
                ((try? String(contentsOfFile: file, encoding: .utf8)) ?? "").contains("dz_agent_running_tasks 1")
            }
            // The file is rewritten every 10 s: the first one, at the start, may predate the claim.
            try #require(written, "\(agent.errorTail)")
            let samples = try await Self.parse(spool, file)
            #expect(Self.value(samples, "dz_queue_tasks", ["queue": "build", "state": "deferred"]) == 1, "\(samples)")
            #expect(Self.value(samples, "dz_queue_tasks", ["queue": "other", "state": "waiting"]) == 0)
            #expect(Self.value(samples, "dz_tasks_total", ["queue": "other", "outcome": "ok"]) == 0)
            #expect(samples["dz_metrics_updated_time_seconds"]?.count == 1)
        }
    }
}
