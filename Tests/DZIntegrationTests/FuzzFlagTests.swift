import DZSpool
import Foundation
import Testing

extension Integration {
    /// Every numeric and duration flag of the commands issue 13 names, and the job policy parameters, at extreme
    /// and invalid values: each run exits with a documented status (dz(1), EXIT STATUS) and says why when it is not
    /// 0, never by a signal and never with a fatal error. Values that no range can hold (`nan`, `inf`, `1e400`,
    /// negative durations, `1e30s`, text) must be refused as usage errors (64). Each run has a spool of its own;
    /// an agent runs with `--drain`, and a coordinator that accepted its flags is stopped by SIGTERM, which must
    /// end it with 0.
    ///
    /// By default each flag gets a seeded sample of the values (every value is used by some flag);
    /// `DZ_FUZZ_COUNT` of 1000 or more runs every flag with every value. `DZ_FUZZ_SEED` replays a sample.
    @Suite(.serialized) struct FuzzFlagTests {
        enum Kind: Sendable { case duration, integer, parameter }

        struct Flag: Sendable, CustomStringConvertible {
            let command: [String]
            let option: String
            let kind: Kind
            var description: String { (command + [option]).joined(separator: " ") }
        }

        static let agent = ["agent", "-Q", "build", "--drain", "--host-id", "flags"]
        static let coordinator = ["coordinator"]
        static let flags: [Flag] = [
            Flag(command: agent, option: "--concurrency", kind: .integer),
            Flag(command: agent, option: "--lease", kind: .duration),
            Flag(command: agent, option: "--rescan", kind: .duration),
            Flag(command: agent, option: "--grace", kind: .duration),
            Flag(command: agent, option: "--task-timeout", kind: .duration),
            Flag(command: agent, option: "--settle", kind: .duration),
            Flag(command: agent, option: "--skew", kind: .duration),
            Flag(command: agent, option: "--heartbeat", kind: .duration),
            Flag(command: agent, option: "--poison-limit", kind: .integer),
            Flag(command: agent, option: "--supervise", kind: .duration),
            Flag(command: coordinator, option: "--rescan", kind: .duration),
            Flag(command: coordinator, option: "--queue-wait", kind: .duration),
            Flag(command: coordinator, option: "--recover-after", kind: .duration),
            Flag(command: ["send", "noop"], option: "--max-attempts", kind: .integer),
            Flag(command: ["send", "noop"], option: "--backoff", kind: .duration),
            Flag(command: ["send", "noop"], option: "--timeout", kind: .duration),
            Flag(command: ["send", "noop"], option: "--delay", kind: .duration),
            Flag(command: ["job", "submit", "selftest"], option: "timeout_s", kind: .parameter),
            Flag(command: ["job", "submit", "selftest"], option: "max_attempts", kind: .parameter),
            Flag(command: ["job", "submit", "selftest"], option: "backoff_s", kind: .parameter),
            Flag(command: ["gc"], option: "--older-than", kind: .duration),
            Flag(command: ["requeue", "--stale"], option: "--skew", kind: .duration),
            Flag(command: ["hosts"], option: "--max-age", kind: .duration),
            Flag(command: ["job", "wait", "J-none"], option: "--timeout", kind: .duration),
            Flag(command: ["logs", "--project", "fuzz", "--timeout", "1ms"], option: "--lines", kind: .integer),
            Flag(command: ["logs", "--project", "fuzz", "--timeout", "1ms", "-f"], option: "--interval", kind: .duration),
            Flag(command: ["logs", "--project", "fuzz"], option: "--timeout", kind: .duration),
        ]

        /// Values no flag of their kind can take, and values some may (kept small where valid, so that a
        /// command that accepts one ends at once).
        static let invalid: [Kind: [String]] = [
            .duration: ["1e30s", "-1s", "nan", "inf", "-inf", "1e400", "", "abc", "nans", "1e30d", "1e308",
                        "9223372036854775808", "1e10s", " 5s", "5 s", "18446744073709551616ms", "-1e-300", "1e400ms"],
            .integer: ["0", "-1", "-0", "1e3", "nan", "", "abc", "1.5", "9223372036854775808", "-9223372036854775809",
                       "99999999999999999999", "0x10", "inf"],
            .parameter: ["1e10", "1e300", "nan", "-1", "inf", "-inf", "", "abc", "1e400", "1e308", "NaN", "-1e-9"],
        ]
        static let questionable: [Kind: [String]] = [
            .duration: ["0", "-0", "1e-300", "1ms", "1e-320s", "0.0001ms"],
            .integer: ["9223372036854775807", "1025", "101", "1000001", "2"],
            .parameter: ["0", "1e-300", "1001", "604801", "0x10", "86401", "-0"],
        ]
        static let documented: Set<Int32> = [0, 1, 64, 65, 69, 75]

        struct Run: Sendable {
            let flag: Flag
            let value: String
            let mustRefuse: Bool
        }

        static func plan(_ settings: FuzzSettings) -> [Run] {
            var random = FuzzRandom(seed: settings.seed)
            let all = settings.count >= 1000
            var runs: [Run] = []
            for (index, flag) in flags.enumerated() {
                let bad = invalid[flag.kind]!
                let maybe = questionable[flag.kind]!
                if all {
                    runs += bad.map { Run(flag: flag, value: $0, mustRefuse: true) }
                    runs += maybe.map { Run(flag: flag, value: $0, mustRefuse: false) }
                    continue
                }
                // Three refusals in turn (so that every value is used), and two others at random.
                for offset in 0..<3 { runs.append(Run(flag: flag, value: bad[(index * 3 + offset) % bad.count], mustRefuse: true)) }
                for _ in 0..<2 { runs.append(Run(flag: flag, value: random.pick(maybe), mustRefuse: false)) }
            }
            return runs
        }

        @Test(.timeLimit(.minutes(15)))
        func everyNumericFlagExitsWithADocumentedStatusAndAMessage() async throws {
            let settings = FuzzSettings.current
            let started = ContinuousClock.now
            let spool = try TestSpool(initialize: false)
            defer { spool.cleanUp() }
            let runs = Self.plan(settings)
            let directory = spool.directory
            let logDirectory = spool.logDirectory
            print("fuzz flags: seed \(settings.seed), \(runs.count) runs of \(Self.flags.count) flags")
            var failures: [String] = []
            var statuses: [Int32: Int] = [:]
            // Four at a time: each is a process of its own on a spool of its own.
            for batch in stride(from: 0, to: runs.count, by: 4) {
                let results = try await withThrowingTaskGroup(of: (Int, String?, Int32?).self) { group in
                    for index in batch..<min(batch + 4, runs.count) {
                        group.addTask {
                            try await Self.execute(runs[index], number: index, in: directory, logDirectory: logDirectory)
                        }
                    }
                    var collected: [(Int, String?, Int32?)] = []
                    for try await result in group { collected.append(result) }
                    return collected
                }
                for (_, problem, status) in results {
                    if let problem { failures.append(problem) }
                    if let status { statuses[status, default: 0] += 1 }
                }
            }
            print("fuzz flags: seed \(settings.seed): \(runs.count) runs, exit statuses "
                  + statuses.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
                  + " in \(ContinuousClock.now - started)")
            let shown = failures.prefix(60).joined(separator: "\n")
            #expect(failures.isEmpty, "seed \(settings.seed): \(failures.count) problems:\n\(shown)")
        }

        /// Whether the spool's audit log has a line of `event`.
        static func logged(_ event: String, in root: String) -> Bool {
            let logs = root + "/log"
            for host in FuzzSpoolView.names(logs) {
                for file in FuzzSpoolView.names(logs + "/" + host) {
                    let text = (try? String(contentsOfFile: logs + "/" + host + "/" + file, encoding: .utf8)) ?? ""
                    if text.contains("event=" + event) { return true }
                }
            }
            return false
        }

        /// Runs one command on a spool of its own; a problem, if any, and its exit status.
        static func execute(_ run: Run, number: Int, in directory: String, logDirectory: String) async throws
            -> (Int, String?, Int32?)
        {
            let root = directory + "/spool-\(number)"
            try Spool(root: root, host: HostID("tester"), sync: false).initialize()
            var arguments = run.flag.command
            if run.flag.kind == .parameter {
                arguments += ["--param", "\(run.flag.option)=\(run.value)"]
            } else {
                arguments.append("\(run.flag.option)=\(run.value)")
            }
            let shown = "dz \(arguments.joined(separator: " ")) (value \(run.value.debugDescription))"
            let process = try DZProcess(label: "flags-\(number)", arguments: arguments + ["--spool", root],
                                        logDirectory: logDirectory)
            defer { process.kill() }
            let daemon = run.flag.command.first == "coordinator" && !run.mustRefuse
            var exited = await waitUntil(timeout: 20, every: 0.02) {
                !process.isRunning || (daemon && Self.logged("coordinator-started", in: root))
            } && !process.isRunning
            var stopped = false
            if !exited, daemon {
                // It took its flags and runs: SIGTERM must end it cleanly.
                process.send(SIGTERM)
                stopped = true
                exited = await process.waitForExit(timeout: 30)
            }
            guard exited else {
                process.kill()
                return (number, "\(shown) did not end", nil)
            }
            guard let status = process.exitStatus else { return (number, "\(shown): \(process.ending)\n\(process.errorTail)", nil) }
            let error = process.standardError
            if error.contains("Fatal error") { return (number, "\(shown): fatal error\n\(process.errorTail)", status) }
            if !Self.documented.contains(status) { return (number, "\(shown): exit status \(status), not a documented one", status) }
            if stopped, status != 0 { return (number, "\(shown): exit status \(status) after SIGTERM", status) }
            if run.mustRefuse, status != 64, status != 65 {
                return (number, "\(shown): exit status \(status), not 64 or 65\n\(error.suffix(400))", status)
            }
            if status != 0, error.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                return (number, "\(shown): exit status \(status) without a message", status)
            }
            return (number, nil, status)
        }
    }
}
