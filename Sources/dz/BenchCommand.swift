import ArgumentParser
import DZBench
import DZSpool
import DZSystem
import Foundation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure round trips, pickup latency and jobs through the coordinator with real agents; print tables.",
        discussion: """
            Starts `dz agent` processes on fresh spools under --spool (default: a new directory under /tmp, removed \
            afterwards), drops noop tasks and counts their results. Figures depend on the disk and on whatever else \
            the machine is doing: compare runs on one machine.
            """)

    @Option(name: .long, help: ArgumentHelp("Where to make the benchmark's spools (default: a temporary directory).", valueName: "dir"))
    var spool: String?

    @Option(name: .long, help: ArgumentHelp("Tasks per throughput run without fsync.", valueName: "n"))
    var tasks: Int = 5000

    @Option(name: .customLong("fsync-tasks"), help: ArgumentHelp("Tasks per throughput run with fsync.", valueName: "n"))
    var fsyncTasks: Int = 1000

    @Option(name: .long, help: ArgumentHelp("Agent counts to measure, comma-separated.", valueName: "list"))
    var agents: String = "1,4"

    @Option(name: .long, help: ArgumentHelp("Each agent's --concurrency.", valueName: "n"))
    var concurrency: Int = 4

    @Option(name: .long, help: ArgumentHelp("Single drops for the latency measurement.", valueName: "n"))
    var trickle: Int = 200

    @Option(name: .long, help: ArgumentHelp("Runs of each throughput row; the table gives the median and the range.",
                                            valueName: "n"))
    var repeats: Int = 3

    @Option(name: .long, help: ArgumentHelp("selftest jobs through a coordinator (0: skip).", valueName: "n"))
    var jobs: Int = 200

    @Flag(name: .customLong("jobs-only"), help: "Measure only the jobs through the coordinator.")
    var jobsOnly = false

    @Flag(name: .customLong("cross-host"), help: "Measure only the pickup by an agent behind a bindfs view of the spool (another host, as NFS clients are), with and without wake-up rings (needs bindfs and FUSE).")
    var crossHost = false

    @Option(name: .customLong("cross-host-rescan"), parsing: .unconditional, help: ArgumentHelp("The agent's --rescan in the cross-host measurement.", valueName: "duration"))
    var crossHostRescan: String = "5s"

    @Option(name: .customLong("cross-host-slow-drops"), help: ArgumentHelp("Drops measured without wake-ups (each waits for a rescan).", valueName: "n"))
    var crossHostSlowDrops: Int = 20

    @Option(name: .customLong("cross-host-jobs"), help: ArgumentHelp("selftest jobs (ten no-op steps) measured with wake-ups, between a coordinator and an agent on two bindfs views; 0 skips them.", valueName: "n"))
    var crossHostJobs: Int = 10

    @Option(name: .customLong("cross-host-slow-jobs"), help: ArgumentHelp("Such jobs measured without wake-ups (each hop waits for a rescan); 0 skips them.", valueName: "n"))
    var crossHostSlowJobs: Int = 2

    @Option(name: .customLong("deep-backlog"), help: ArgumentHelp("Tasks waiting in the deep backlog row, measured against 1,000 waiting (0: skip).", valueName: "n"))
    var deepBacklog: Int = 20_000

    @Option(name: .customLong("full-done"), help: ArgumentHelp("Files in today's done/ in the full done/ row, measured against an empty one (0: skip).", valueName: "n"))
    var fullDone: Int = 100_000

    @Flag(name: .customLong("scale-only"), help: "Measure only the deep backlog and the full done/.")
    var scaleOnly = false

    @Flag(name: .long, help: "Measure only the deploy row: a cold build_and_deploy of the example app and warm redeploys (a code change, the same requirements), through real agents, nginx and gunicorn on this machine (needs root).")
    var deploy = false

    @Option(name: .customLong("deploy-redeploys"), help: ArgumentHelp("Warm redeploys after the cold deploy.", valueName: "n"))
    var deployRedeploys: Int = 3

    @Option(name: .customLong("deploy-example"), help: ArgumentHelp("The project the deploy row deploys.", valueName: "dir"))
    var deployExample: String = "examples/hello"

    @Option(name: .customLong("agent-executable"), help: ArgumentHelp("The dz executable whose agents and coordinator are measured (default: this one), to compare two builds with the same benchmark.", valueName: "path"))
    var agentExecutable: String?

    func validate() throws {
        guard tasks > 0, fsyncTasks > 0, trickle > 0, concurrency > 0, jobs >= 0, (1...20).contains(repeats) else {
            throw ValidationError("counts must be positive, --repeats from 1 to 20")
        }
        guard !agentCounts.isEmpty, agentCounts.allSatisfy({ (1...64).contains($0) }) else {
            throw ValidationError("--agents: a comma-separated list of counts from 1 to 64")
        }
        _ = try duration(crossHostRescan, "--cross-host-rescan", in: 0.05...60)
        guard (1...1000).contains(crossHostSlowDrops) else {
            throw ValidationError("--cross-host-slow-drops must be from 1 to 1000")
        }
        guard (0...1000).contains(crossHostJobs), (0...1000).contains(crossHostSlowJobs) else {
            throw ValidationError("--cross-host-jobs and --cross-host-slow-jobs must be from 0 to 1000")
        }
        guard deepBacklog == 0 || (1000...10_000_000).contains(deepBacklog), (0...10_000_000).contains(fullDone) else {
            throw ValidationError("--deep-backlog: 0 or from 1000 to 10000000; --full-done: from 0 to 10000000")
        }
        if scaleOnly, crossHost || jobsOnly { throw ValidationError("--scale-only, --cross-host and --jobs-only measure different things: pick one") }
        if crossHost, jobsOnly { throw ValidationError("--cross-host and --jobs-only measure different things: pick one") }
        try validateDeploy()
    }

    private var agentCounts: [Int] { agents.split(separator: ",").compactMap { Int($0) } }

    func run() throws {
        let executable: String
        do { executable = try agentExecutable.map(FileSystem.resolve) ?? ProcessTable.ownExecutable() } catch {
            complain("cannot find this executable: \(error)")
            throw ExitStatus.systemFailure
        }
        let base: String
        let temporary = spool == nil
        if let spool {
            base = spool
            try? FileSystem.makeDirectories(base)
        } else {
            var template = Array("/tmp/dz-bench-XXXXXX".utf8CString)
            base = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        }
        defer { if temporary { try? FileManager.default.removeItem(atPath: base) } }
        print("dz bench on \(base) (\(ProcessInfo.processInfo.activeProcessorCount) cores), agents with --concurrency \(concurrency)")
        if crossHost {
            try measureCrossHost(executable: executable, base: base)
            return
        }
        if deploy { return try measureDeploy(executable: executable, base: base) }
        if !jobsOnly, !scaleOnly { try measureSpool(executable: executable, base: base) }
        if !jobsOnly { try ScaleTables(executable: executable, base: base, concurrency: concurrency, repeats: repeats,
                                       deepBacklog: deepBacklog, fullDone: fullDone).print() }
        if jobs > 0, !scaleOnly { try measureJobs(executable: executable, base: base) }
    }

    private func measureSpool(executable: String, base: String) throws {
        let benchmark = Benchmark(executable: executable, directory: base, tasks: tasks, fsyncTasks: fsyncTasks,
                                  agentCounts: agentCounts, concurrency: concurrency, trickle: trickle,
                                  repeats: repeats)
        let report: Benchmark.Report
        do {
            report = try benchmark.run { print($0) }
        } catch {
            complain("\(error)")
            throw ExitStatus.systemFailure
        }
        print("")
        var rows = [["MEASURE", "AGENTS", "FSYNC", "TASKS", "RUNS", "ENQUEUE/S", "SECONDS", "ROUND TRIPS/S", "RANGE",
                     "FLOOR/S", "OF FLOOR", "CPU US/TASK"]]
        for row in report.rows {
            rows.append(["round trip", "\(row.agents)", row.fsync ? "on" : "off", "\(row.tasks)", "\(row.runs.count)",
                         String(format: "%.0f", row.enqueuePerSecond), String(format: "%.2f", row.totalSeconds),
                         String(format: "%.0f", row.perSecond),
                         String(format: "%.0f-%.0f", row.rates.first ?? 0, row.rates.last ?? 0),
                         String(format: "%.0f", row.floorPerSecond), String(format: "%.0f%%", row.shareOfFloor * 100),
                         String(format: "%.0f", row.agentCPUMicroseconds)])
        }
        for drain in report.drains {
            let baseline = BenchCommand.baseline(of: drain, in: report.drains)
            rows.append(["backlog", "\(drain.agents)", drain.fsync ? "on" : "off", "\(drain.tasks)",
                         "\(drain.rates.count)", "-", "-", String(format: "%.0f", drain.perSecond),
                         String(format: "%.0f-%.0f", drain.rates.first ?? 0, drain.rates.last ?? 0),
                         baseline.map { String(format: "%.0f", $0.perSecond) } ?? "-",
                         baseline.map { String(format: "%.0f%%", drain.perSecond / $0.perSecond * 100) } ?? "-", "-"])
        }
        printTable(rows)
        print("FLOOR/S: the same file operations in one loop of one process, no dz code, measured on the same disk")
        print("right before each run; OF FLOOR: the median of each run's rate divided by its floor. backlog: the")
        print("agents alone on tasks dropped before they started, from the first result to the last; its FLOOR/S is")
        print("the baseline it is judged against: with fsync, as many agents without (group commit: at least 50%);")
        print("without fsync, one agent (several agents on one host: at least 100%). CPU US/TASK: the CPU time")
        print("all the agents of a round trip run used from the first drop to the last result, per task (median).")
        print("")
        var latencyRows = [["LATENCY (ms)", "FSYNC", "DROPS", "P50", "P99", "MAX"]]
        for latency in report.latencies {
            for (name, samples) in [("pickup: drop call to handler start", latency.pickup),
                                    ("round trip: drop to result", latency.roundTrip)] {
                latencyRows.append([name, latency.fsync ? "on" : "off", "\(latency.samples)",
                                    String(format: "%.2f", samples.percentile(0.5) * 1000),
                                    String(format: "%.2f", samples.percentile(0.99) * 1000),
                                    String(format: "%.2f", (samples.max() ?? .nan) * 1000)])
            }
        }
        printTable(latencyRows)
    }

    /// What a backlog row is judged against: with fsync, as many agents without fsync; without fsync and with
    /// several agents, one agent without fsync; nil for one agent without fsync.
    static func baseline(of drain: Benchmark.Drain, in drains: [Benchmark.Drain]) -> Benchmark.Drain? {
        if drain.fsync { return drains.first { !$0.fsync && $0.agents == drain.agents } }
        guard drain.agents > 1 else { return nil }
        return drains.first { !$0.fsync && $0.agents == 1 }
    }

    private func measureCrossHost(executable: String, base: String) throws {
        let rescan = try duration(crossHostRescan, "--cross-host-rescan", in: 0.05...60)
        let benchmark = CrossHostBenchmark(executable: executable, directory: base, drops: trickle,
                                           dropsWithoutWakeups: crossHostSlowDrops, rescan: rescan)
        let rows: [CrossHostBenchmark.Row]
        do { rows = try benchmark.run { print($0) } } catch {
            complain("\(error)")
            throw ExitStatus.systemFailure
        }
        print("")
        var table = [["CROSS-HOST PICKUP (ms)", "WAKE-UPS", "RESCAN", "DROPS", "RINGS", "P50", "P99", "MAX"]]
        for row in rows {
            table.append(["drop call to handler start", row.wakeups ? "on" : "off", crossHostRescan,
                          "\(row.pickup.count)", "\(row.rings)", String(format: "%.2f", row.pickup.percentile(0.5) * 1000),
                          String(format: "%.2f", row.pickup.percentile(0.99) * 1000),
                          String(format: "%.2f", (row.pickup.max() ?? .nan) * 1000)])
        }
        printTable(table)
        print("The agent sees the spool through its own bindfs view, so its inotify never hears the drops (as on NFS);")
        print("with wake-ups it listens on 127.0.0.1 and each drop rings it, without it finds each task at a rescan.")
        guard crossHostJobs + crossHostSlowJobs > 0 else { return }

        let jobBenchmark = CrossHostJobBenchmark(executable: executable, directory: base, jobs: crossHostJobs,
                                                 jobsWithoutWakeups: crossHostSlowJobs, rescan: rescan)
        let jobRows: [CrossHostJobBenchmark.Row]
        do { jobRows = try jobBenchmark.run { print($0) } } catch {
            complain("\(error)")
            throw ExitStatus.systemFailure
        }
        print("")
        var jobTable = [["CROSS-HOST JOB (s)", "WAKE-UPS", "RESCAN", "JOBS", "STEPS", "FAILED", "P50", "MAX",
                         "WAITING P50", "WAITING MAX"]]
        for row in jobRows {
            jobTable.append(["submit to end", row.wakeups ? "on" : "off", crossHostRescan, "\(row.duration.count)",
                             "\(row.steps)", "\(row.failed)", String(format: "%.3f", row.duration.percentile(0.5)),
                             String(format: "%.3f", row.duration.max() ?? .nan),
                             String(format: "%.3f", row.waiting.percentile(0.5)),
                             String(format: "%.3f", row.waiting.max() ?? .nan)])
        }
        printTable(jobTable)
        print("selftest jobs one at a time: the coordinator and the agent each see the spool through their own bindfs")
        print("view, so every step is a hop between \"hosts\"; WAITING is the job's time in which no step ran.")
    }

    private func measureJobs(executable: String, base: String) throws {
        var reports: [(fsync: Bool, report: JobBenchmark.Report)] = []
        // Both rows' files are removed after both rows (see `JobBenchmark.removeWhenDone`).
        defer {
            for path in reports.flatMap(\.report.left) { try? FileManager.default.removeItem(atPath: path) }
        }
        for fsync in [false, true] {
            var benchmark = JobBenchmark(executable: executable, directory: base, jobs: jobs, agents: 2,
                                         concurrency: concurrency, fsync: fsync)
            benchmark.removeWhenDone = false
            do { reports.append((fsync, try benchmark.run())) } catch {
                complain("\(error)")
                throw ExitStatus.systemFailure
            }
        }
        print("")
        var table = [["JOBS (selftest, 10 steps)", "FSYNC", "AGENTS", "JOBS", "STEPS", "SECONDS", "JOBS/S", "FAILED",
                      "CPU MS/JOB: COORDINATOR", "AGENTS"]]
        for (fsync, report) in reports {
            table.append(["file operations alone (floor)", fsync ? "on" : "off", "-", "\(report.jobs)",
                          "\(report.jobs * JobBenchmark.stepsPerJob)",
                          String(format: "%.2f", Double(report.jobs) / report.floorJobsPerSecond),
                          String(format: "%.1f", report.floorJobsPerSecond), "-",
                          String(format: "%.2f", 1000 / report.floorJobsPerSecond), "-"])
            table.append(["through the coordinator", fsync ? "on" : "off", "2", "\(report.jobs)", "\(report.steps)",
                          String(format: "%.2f", report.seconds), String(format: "%.1f", report.jobsPerSecond),
                          "\(report.failed)", String(format: "%.2f", report.coordinatorCPUPerJob),
                          String(format: "%.2f", report.agentCPUPerJob)])
        }
        printTable(table)
        print("")
        var rows = [["COORDINATOR LATENCY (ms)", "FSYNC", "STEPS", "P50", "P99", "MAX"]]
        for (fsync, report) in reports {
            for (name, samples) in [("burst: prerequisite result to next step dropped", report.stepLatency),
                                    ("one job at a time: the same", report.idleStepLatency),
                                    ("burst: job submitted to its first step dropped", report.startLatency)] {
                rows.append([name, fsync ? "on" : "off", "\(samples.count)",
                             String(format: "%.2f", samples.percentile(0.5) * 1000),
                             String(format: "%.2f", samples.percentile(0.99) * 1000),
                             String(format: "%.2f", (samples.max() ?? .nan) * 1000)])
            }
        }
        printTable(rows)
        print("With fsync on, the agents and the coordinator fsync at every commit point (the zoomdb's commits with")
        print("synchronous = FULL), as they do by default; off, they run with --no-fsync. The floor is the same jobs'")
        print("spool file operations alone (drops, claims, results, the coordinator's taking and retiring of them) in")
        print("one loop of one process, no zoomdb; its figure under CPU MS/JOB is its wall time per job (with fsync,")
        print("mostly waiting for the disk). Through the coordinator, CPU MS/JOB is user and system time through the")
        let cores = ProcessInfo.processInfo.activeProcessorCount
        print("burst, per job; at 500 jobs/s, \(cores) cores leave "
              + String(format: "%.1f", Double(cores) * 1000 / 500) + " ms a job for all processes together.")
    }
}
