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

    func validate() throws {
        guard tasks > 0, fsyncTasks > 0, trickle > 0, concurrency > 0, jobs >= 0, (1...20).contains(repeats) else {
            throw ValidationError("counts must be positive, --repeats from 1 to 20")
        }
        guard !agentCounts.isEmpty, agentCounts.allSatisfy({ (1...64).contains($0) }) else {
            throw ValidationError("--agents: a comma-separated list of counts from 1 to 64")
        }
    }

    private var agentCounts: [Int] { agents.split(separator: ",").compactMap { Int($0) } }

    func run() throws {
        let executable: String
        do { executable = try FileSystem.resolve("/proc/self/exe") } catch {
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
        if !jobsOnly { try measureSpool(executable: executable, base: base) }
        if jobs > 0 { try measureJobs(executable: executable, base: base) }
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
                     "FLOOR/S", "OF FLOOR"]]
        for row in report.rows {
            rows.append(["round trip", "\(row.agents)", row.fsync ? "on" : "off", "\(row.tasks)", "\(row.runs.count)",
                         String(format: "%.0f", row.enqueuePerSecond), String(format: "%.2f", row.totalSeconds),
                         String(format: "%.0f", row.perSecond),
                         String(format: "%.0f-%.0f", row.rates.first ?? 0, row.rates.last ?? 0),
                         String(format: "%.0f", row.floorPerSecond), String(format: "%.0f%%", row.shareOfFloor * 100)])
        }
        for drain in report.drains {
            rows.append(["backlog", "\(drain.agents)", "off", "\(drain.tasks)", "\(drain.rates.count)", "-", "-",
                         String(format: "%.0f", drain.perSecond),
                         String(format: "%.0f-%.0f", drain.rates.first ?? 0, drain.rates.last ?? 0), "-", "-"])
        }
        printTable(rows)
        print("FLOOR/S: the same file operations in one loop of one process, no dz code, measured on the same disk")
        print("right before each run; OF FLOOR: the median of each run's rate divided by its floor. backlog: the")
        print("agents alone on tasks dropped before they started, from the first result to the last.")
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

    private func measureJobs(executable: String, base: String) throws {
        let benchmark = JobBenchmark(executable: executable, directory: base, jobs: jobs, agents: 2,
                                     concurrency: concurrency)
        let report: JobBenchmark.Report
        do { report = try benchmark.run() } catch {
            complain("\(error)")
            throw ExitStatus.systemFailure
        }
        print("")
        printTable([
            ["JOBS (selftest, 10 steps)", "AGENTS", "JOBS", "STEPS", "SECONDS", "JOBS/S", "FAILED"],
            ["through the coordinator", "2", "\(report.jobs)", "\(report.steps)", String(format: "%.2f", report.seconds),
             String(format: "%.1f", report.jobsPerSecond), "\(report.failed)"],
        ])
        print("")
        var rows = [["COORDINATOR LATENCY (ms)", "STEPS", "P50", "P99", "MAX"]]
        for (name, samples) in [("burst: prerequisite result to next step dropped", report.stepLatency),
                                ("one job at a time: the same", report.idleStepLatency)] {
            rows.append([name, "\(samples.count)", String(format: "%.2f", samples.percentile(0.5) * 1000),
                         String(format: "%.2f", samples.percentile(0.99) * 1000),
                         String(format: "%.2f", (samples.max() ?? .nan) * 1000)])
        }
        printTable(rows)
    }
}
