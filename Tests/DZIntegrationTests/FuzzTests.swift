import DZSpool
import DZStore
import Foundation
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension Integration {
    /// Issue 13's fuzz test: files with every field, name shape, kind and modification time thrown at a real agent
    /// (`build`) and a real coordinator (`results`, `jobs`) on a temporary spool, in two waves (one found by their
    /// first scan, one through inotify while they run), with forged results for the tasks of real steps and
    /// cancellations of real jobs. Then: no process died or logged a fatal error; each file is in exactly one
    /// place, the one its class gives (`FuzzExpectation`), with its reason, its result, its audit line; `dz
    /// status` counts what is there; the zoomdb holds the jobs the requests made.
    ///
    /// What is independent of dz's code and what is not: names, file kinds, times, the handlers' behaviour and
    /// the jobs queue's rules are judged by the test's own reading of dz-spool(5) and dz(1) (`FuzzSpec`,
    /// `FuzzExpectation`). Whether a file's bytes are a valid task or result is decided by dz's own readers
    /// (`TaskFile`, `ResultFile`), run in the test: what they accept is what the processes must treat as valid, so
    /// the test checks that the processes act on the readers' verdict, not that the verdict is right. That is
    /// checked separately where the generator knows the answer by construction (one field set to a value whose
    /// validity the spec decides, `FuzzFile.specValid`), and by the coverage-guided fuzzer of the readers
    /// (DZFuzz, scripts/fuzz).
    ///
    /// `DZ_FUZZ_SEED` replays a run (the seed is printed); `DZ_FUZZ_COUNT` sizes it (task files; half as many
    /// results and requests), 600 by default.
    @Suite(.serialized) struct FuzzTests {
        static let taskTimeout = 2.0

        @Test(.timeLimit(.minutes(15)))
        func noFileCrashesAProcessAndEveryFileEndsWhereItsClassBelongs() async throws {
            let settings = FuzzSettings.current
            let started = ContinuousClock.now
            let spool = try TestSpool()
            // DZ_FUZZ_KEEP=1 keeps the spool and the processes' output for a look after a failure.
            let keep = ProcessInfo.processInfo.environment["DZ_FUZZ_KEEP"] != nil
            defer { if keep { spool.killAll() } else { spool.cleanUp() } }
            guard let resolved = realpath(spool.root, nil) else { throw SetupFailure("realpath: errno \(errno)") }
            let root = String(cString: resolved)
            free(resolved)
            let view = FuzzSpoolView(root: root, staging: spool.directory + "/staging")
            try FileManager.default.createDirectory(atPath: view.staging, withIntermediateDirectories: true)
            try view.makeLinkTargets()

            let now = Date().timeIntervalSince1970
            var corpus = FuzzCorpus(seed: settings.seed, now: now)
            corpus.generate(tasks: settings.count, results: settings.count / 2, requests: settings.count / 2)
            var files = corpus.files
            print("fuzz: seed \(settings.seed) (DZ_FUZZ_SEED=\(settings.seed) replays it), \(files.count) files in \(spool.directory)")

            for (number, file) in files.enumerated() where file.wave == 1 { try view.place(file, number: number, now: now) }
            let coordinator = try spool.start(["coordinator", "--rescan", "200ms", "--no-fsync"], label: "coordinator")
            let coordinatorStarted = await waitUntil(timeout: 60) {
                !coordinator.isRunning || !spool.records(event: "coordinator-started").isEmpty
            }
            try #require(coordinatorStarted && coordinator.isRunning, "seed \(settings.seed): \(coordinator.errorTail)")
            let agent = try await spool.startAgent(host: "h1", queues: "build", [
                "--rescan", "200ms", "--task-timeout", "\(Int(Self.taskTimeout))s", "--grace", "10s",
                "--concurrency", "8", "--settle", "1s", "--no-fsync",
            ])
            let quietAfterFirst = await Self.waitForQuiet(spool, root, [agent, coordinator])

            // The second wave: the rest, cancellations of the jobs the first wave submitted, and results for the
            // tasks of their steps that wait in an unserved queue.
            let firstContext = FuzzExpectation.Context(root: root, now: Date().timeIntervalSince1970,
                                                       taskTimeout: Self.taskTimeout, knownJobs: [])
            let known = files.filter { $0.wave == 1 && $0.inbox == .requests }.compactMap { file -> String? in
                let expectation = FuzzExpectation.expect(file, firstContext)
                return expectation.places.count == 1 ? expectation.job?.id : nil
            }
            let stepTasks = FuzzSpoolView.names(root + "/database/new").filter { $0.hasSuffix(".json") }
                .map { String($0.dropLast(5)) }
            files += corpus.cancels(of: known, count: max(4, settings.count / 30))
            files += corpus.forgedResults(for: stepTasks, count: stepTasks.isEmpty ? 0 : max(6, settings.count / 10))
            for (number, file) in files.enumerated() where file.wave == 2 { try view.place(file, number: number, now: now) }
            let quiet = await Self.waitForQuiet(spool, root, [agent, coordinator])

            var failures: [String] = []
            if !quietAfterFirst || !quiet { failures.append("the spool did not come to rest within 120 s (files still due)") }
            for process in [agent, coordinator] where !process.isRunning {
                failures.append("\(process.label) died: \(process.errorTail)")
            }
            agent.send(SIGTERM)
            coordinator.send(SIGTERM)
            for process in [agent, coordinator] {
                let exited = await process.waitForExit(timeout: 60)
                if !exited || process.exitStatus != 0 {
                    failures.append("\(process.label) did not stop cleanly on SIGTERM: \(process.errorTail)")
                }
                for line in process.standardError.split(separator: "\n") where !line.hasPrefix("ts=") {
                    failures.append("\(process.label) wrote a line that is not logfmt: \(line.prefix(300))")
                }
                if process.standardError.contains("Fatal error") || process.standardError.contains("Crash") {
                    failures.append("\(process.label) logged a fatal error: \(process.errorTail)")
                }
            }

            let context = FuzzExpectation.Context(root: root, now: Date().timeIntervalSince1970,
                                                  taskTimeout: Self.taskTimeout, knownJobs: Set(known))
            var report = FuzzReport()
            let checker = FuzzChecker(root: root, spool: spool)
            for file in files {
                let expectation = FuzzExpectation.expect(file, context)
                let (place, problems) = checker.check(file, expectation)
                report.count(file, place)
                failures += problems.map { "\(file): \($0)" }
                if let label = file.specValid, let verdict = checker.readerVerdict(file), label != verdict {
                    failures.append("\(file): the spec says \(label ? "valid" : "invalid"), dz's reader says \(verdict ? "valid" : "invalid")")
                }
                if file.specValid != nil { report.specChecked += 1 }
            }
            failures += checker.checkAuditLog()
            failures += try await checker.checkStatus()
            failures += checker.checkJobs(files, context)

            let elapsed = ContinuousClock.now - started
            print("fuzz: seed \(settings.seed): fuzzed \(report.fieldSummary)")
            print("fuzz: seed \(settings.seed): \(report) in \(elapsed)")
            #expect(failures.isEmpty, """
                seed \(settings.seed) (replay: DZ_FUZZ_SEED=\(settings.seed) DZ_FUZZ_COUNT=\(settings.count)): \
                \(failures.count) problems:
                \(failures.prefix(150).joined(separator: "\n"))
                """)
        }

        /// Waits (at most 120 s) until no claim is held and nothing is due in the three inboxes: every name left in
        /// `new/` is one dz ignores or a deferral; false if that never happens or a process died.
        static func waitForQuiet(_ spool: TestSpool, _ root: String, _ processes: [DZProcess]) async -> Bool {
            var calm = 0
            let settled = await waitUntil(timeout: 120, every: 0.2) {
                guard processes.allSatisfy(\.isRunning) else { return true }
                calm = isQuiet(root) ? calm + 1 : 0
                return calm >= 3
            }
            return settled && processes.allSatisfy(\.isRunning)
        }

        static func isQuiet(_ root: String) -> Bool {
            let now = Date().timeIntervalSince1970
            for queue in ["build", "results", "jobs"] {
                if FuzzSpoolView.names(root + "/" + queue + "/cur").contains(where: { !$0.hasSuffix(".deaths") }) {
                    return false
                }
                for raw in FuzzSpoolView.rawNames(root + "/" + queue + "/new") {
                    guard let name = String(validating: raw, as: UTF8.self) else { return false }
                    guard FuzzSpec.isConsidered(name) else { continue }
                    if queue == "results" { return false }
                    var status = stat()
                    guard lstat(root + "/" + queue + "/new/" + name, &status) == 0 else { continue }
                    let mtime = Double(status.st_mtim.tv_sec)
                    let deferred = status.st_mode & S_IFMT == S_IFREG && mtime > now + 0.5 && mtime <= now + FuzzSpec.maxDeferral
                    if !deferred { return false }
                }
            }
            return true
        }
    }
}

/// The seed and size of a fuzz run, from `DZ_FUZZ_SEED` (a number; else a random one) and `DZ_FUZZ_COUNT`.
struct FuzzSettings {
    let seed: UInt64
    let count: Int

    static var current: FuzzSettings {
        let environment = ProcessInfo.processInfo.environment
        let seed = environment["DZ_FUZZ_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...999_999_999)
        let count = environment["DZ_FUZZ_COUNT"].flatMap { Int($0) }.map { max(10, $0) } ?? 600
        return FuzzSettings(seed: seed, count: count)
    }
}

/// What a run covered: files per inbox and per place they ended in.
struct FuzzReport: CustomStringConvertible {
    var places: [String: [String: Int]] = [:]
    var fields: [String: [String: Int]] = [:]
    var specChecked = 0

    mutating func count(_ file: FuzzFile, _ place: String) {
        places[file.inbox.queue, default: [:]][place, default: 0] += 1
        fields[file.inbox.queue, default: [:]][file.field, default: 0] += 1
    }

    /// The fields fuzzed, per queue, with how many files each.
    var fieldSummary: String {
        fields.sorted { $0.key < $1.key }.map { queue, counts in
            "\(queue): " + counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        }.joined(separator: "; ")
    }

    var description: String {
        places.sorted { $0.key < $1.key }.map { queue, counts in
            "\(queue): \(counts.values.reduce(0, +)) files (" + counts.sorted { $0.key < $1.key }
                .map { "\($0.value) \($0.key)" }.joined(separator: ", ") + ")"
        }.joined(separator: "; ") + "; \(specChecked) verdicts checked against the spec"
    }
}
