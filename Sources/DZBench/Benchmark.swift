import DZSpool
import DZSystem
import Foundation

/// `dz bench`: measures real `dz agent` processes on a spool directory.
///
/// Throughput is the whole round trip (drop, claim, run `noop`, write the result, move to done) with 1 and with
/// several agents, with and without fsync; pickup latency is drop-to-start for a trickle of single drops. Results
/// are counted through inotify on `results/new`, so the measuring itself costs the agents nothing.
public struct Benchmark: Sendable {
    public var executable: String
    public var directory: String
    public var tasks: Int
    public var fsyncTasks: Int
    public var agentCounts: [Int]
    public var concurrency: Int
    public var trickle: Int
    /// How many times each throughput row is measured (the report gives the median and the spread).
    public var repeats: Int

    public init(executable: String, directory: String, tasks: Int = 5000, fsyncTasks: Int = 1000,
                agentCounts: [Int] = [1, 4], concurrency: Int = 4, trickle: Int = 200, repeats: Int = 3)
    {
        self.repeats = max(1, repeats)
        self.executable = executable
        self.directory = directory
        self.tasks = tasks
        self.fsyncTasks = fsyncTasks
        self.agentCounts = agentCounts
        self.concurrency = concurrency
        self.trickle = trickle
    }

    /// One measurement of a row of the report.
    public struct Run: Sendable {
        public var enqueueSeconds: Double
        public var totalSeconds: Double
        /// The file system's own rate for the same round trips (`RenameFloor`), measured right before.
        public var floorPerSecond: Double
        /// CPU seconds the agents used from the first drop to the last result, all of them together (their start
        /// and stop not counted): what serving the tasks cost, whatever else the machine did meanwhile.
        public var agentCPUSeconds: Double = 0
    }

    /// One row of the report: every run of it, reported by the median.
    public struct Row: Sendable {
        public var agents: Int
        public var fsync: Bool
        public var tasks: Int
        public var runs: [Run]
        /// Round trips per second of each run, slowest first.
        public var rates: [Double] { runs.map { Double(tasks) / $0.totalSeconds }.sorted() }
        public var perSecond: Double { rates.percentile(0.5) }
        public var enqueuePerSecond: Double { runs.map { Double(tasks) / $0.enqueueSeconds }.sorted().percentile(0.5) }
        public var totalSeconds: Double { runs.map(\.totalSeconds).sorted().percentile(0.5) }
        /// The median of the floor measured before each run.
        public var floorPerSecond: Double { runs.map(\.floorPerSecond).sorted().percentile(0.5) }
        /// The median, over the runs, of the agents' CPU microseconds per round trip.
        public var agentCPUMicroseconds: Double {
            runs.map { $0.agentCPUSeconds / Double(tasks) * 1_000_000 }.sorted().percentile(0.5)
        }
        /// The median, over the runs, of each run's rate as a share of the floor measured just before it.
        public var shareOfFloor: Double {
            runs.map { Double(tasks) / $0.totalSeconds / $0.floorPerSecond }.sorted().percentile(0.5)
        }
    }

    public struct Latency: Sendable {
        public var fsync: Bool
        public var samples: Int
        public var pickup: [Double]
        public var roundTrip: [Double]
    }

    /// The agents alone: a backlog of tasks dropped before they start, taken from the first result to the last
    /// (no dropper shares the CPU or the disk, the agents' start is not counted). With fsync this is where the
    /// agents' group commit shows: the round trip with fsync is bound by the dropper's own fsyncs.
    public struct Drain: Sendable {
        public var agents: Int
        public var fsync: Bool
        public var tasks: Int
        /// Tasks per second of each run, slowest first.
        public var rates: [Double]
        public var perSecond: Double { rates.percentile(0.5) }
    }

    /// Everything `run` measured.
    public struct Report: Sendable {
        public var rows: [Row]
        public var drains: [Drain]
        public var latencies: [Latency]
    }

    /// Runs every measurement; `progress` receives a line as each one finishes. The spools of the measurements
    /// are removed only at the end: deleting thousands of files right before the next measurement slows its
    /// renames down (ext4 keeps freed inodes busy for a while), which measured the cleanup, not dz.
    public func run(progress: (String) -> Void) throws -> Report {
        var spools: [String] = []
        defer { for root in spools { try? FileManager.default.removeItem(atPath: root) } }
        var rows: [Row] = []
        var drains: [Drain] = []
        for fsync in [false, true] {
            for agents in agentCounts {
                var row = Row(agents: agents, fsync: fsync, tasks: fsync ? fsyncTasks : tasks, runs: [])
                var drain = Drain(agents: agents, fsync: fsync, tasks: row.tasks, rates: [])
                for _ in 0..<repeats {
                    let (run, root) = try throughput(agents: agents, fsync: fsync, tasks: row.tasks)
                    spools.append(root)
                    row.runs.append(run)
                    progress(String(format: "  %d agent(s), fsync %@: %d tasks in %.2f s", agents,
                                    fsync ? "on" : "off", row.tasks, run.totalSeconds))
                    // The backlog right after each round trip, so that both see the same disk.
                    let (rate, backlogRoot) = try backlog(agents: agents, tasks: row.tasks, fsync: fsync)
                    spools.append(backlogRoot)
                    drain.rates.append(rate)
                    progress(String(format: "  %d agent(s), fsync %@, a backlog of %d tasks: %.0f/s", agents,
                                    fsync ? "on" : "off", row.tasks, rate))
                }
                rows.append(row)
                drain.rates.sort()
                drains.append(drain)
            }
        }
        var latencies: [Latency] = []
        for fsync in [false, true] {
            let (latency, root) = try latency(fsync: fsync)
            spools.append(root)
            latencies.append(latency)
            progress("  latency, fsync \(fsync ? "on" : "off"): \(trickle) drops")
        }
        return Report(rows: rows, drains: drains, latencies: latencies)
    }

    private func freshSpool(_ label: String, fsync: Bool) throws -> Spool {
        let root = directory + "/" + label + "-" + String(Int(Timestamp.now().seconds * 1000) % 10_000_000)
        let spool = Spool(root: root, host: try HostID("bench"), sync: fsync)
        try spool.initialize(queues: [try QueueName("bench"), .results])
        return spool
    }

    private func startAgents(_ count: Int, _ spool: Spool, fsync: Bool) throws -> [AgentProcess] {
        let agents = try (0..<count).map { index in
            try AgentProcess(executable: executable, spool: spool.root, host: "bench", queues: "bench",
                             fsync: fsync, concurrency: concurrency)
        }
        let deadline = Timestamp.now() + 30
        while spool.heartbeats().count < count {
            guard Timestamp.now() < deadline, agents.allSatisfy({ $0.process.isRunning }) else {
                agents.forEach { $0.stop() }
                throw SpoolError.notFound("agents did not start (no heartbeat within 30 s)")
            }
            usleep(20_000)
        }
        return agents
    }

    /// One throughput run, and its spool's root (for the caller to remove); the floor's directory is removed
    /// with it.
    private func throughput(agents count: Int, fsync: Bool, tasks: Int) throws -> (Run, String) {
        let spool = try freshSpool("tp-\(count)-\(fsync ? "fsync" : "nofsync")", fsync: fsync)
        let floor = try RenameFloor(directory: spool.root + "/floor", tasks: tasks, fsync: fsync).run()
        let watcher = try ResultCounter(spool.path(.results, .new))
        let agents = try startAgents(count, spool, fsync: fsync)
        defer { agents.forEach { $0.stop() } }
        let queue = try QueueName("bench")
        let cpuBefore = agents.cpuSeconds
        let start = Timestamp.now()
        for _ in 0..<tasks {
            try spool.drop(TaskFile(id: TaskID.generate(host: spool.host), task: "noop"), into: queue)
        }
        let enqueued = Timestamp.now()
        try watcher.wait(for: tasks, timeout: 600)
        let end = Timestamp.now()
        let cpu = agents.cpuSeconds - cpuBefore
        return (Run(enqueueSeconds: enqueued - start, totalSeconds: end - start, floorPerSecond: floor,
                    agentCPUSeconds: cpu), spool.root)
    }

    /// One backlog run: tasks per second from the first result to the last, and the spool's root.
    private func backlog(agents count: Int, tasks: Int, fsync: Bool) throws -> (Double, String) {
        // Dropped without fsync (not measured); the agents run with `fsync`.
        let spool = try freshSpool("drain-\(count)-\(fsync ? "fsync" : "nofsync")", fsync: false)
        let queue = try QueueName("bench")
        for _ in 0..<tasks {
            try spool.drop(TaskFile(id: TaskID.generate(host: spool.host), task: "noop"), into: queue)
        }
        let watcher = try ResultCounter(spool.path(.results, .new))
        let agents = try (0..<count).map { index in
            try AgentProcess(executable: executable, spool: spool.root, host: "bench", queues: "bench",
                             fsync: fsync, concurrency: concurrency)
        }
        defer { agents.forEach { $0.stop() } }
        try watcher.wait(for: 1, timeout: 60)
        let first = Timestamp.now()
        try watcher.wait(for: tasks, timeout: 600)
        return (Double(tasks - 1) / (Timestamp.now() - first), spool.root)
    }

    /// The latency measurement, and its spool's root (for the caller to remove).
    private func latency(fsync: Bool) throws -> (Latency, String) {
        let spool = try freshSpool("lat-\(fsync ? "fsync" : "nofsync")", fsync: fsync)
        let watcher = try ResultCounter(spool.path(.results, .new))
        let agents = try startAgents(1, spool, fsync: fsync)
        defer { agents.forEach { $0.stop() } }
        let queue = try QueueName("bench")
        var pickup: [Double] = []
        var roundTrip: [Double] = []
        for index in 0..<trickle {
            let id = TaskID.generate(host: spool.host)
            // From the start of the drop call: the file becomes visible partway through it.
            let dropped = Timestamp.now()
            try spool.drop(TaskFile(id: id, task: "noop"), into: queue)
            try watcher.wait(for: index + 1, timeout: 60)
            let delivered = Timestamp.now()
            let result = try ResultFile(parsing: try FileIO.readAll(spool.path(.results, .new) + "/\(id).json"))
            if let started = result.started { pickup.append(started - dropped) }
            roundTrip.append(delivered - dropped)
            usleep(2000)
        }
        return (Latency(fsync: fsync, samples: trickle, pickup: pickup, roundTrip: roundTrip), spool.root)
    }
}

/// Counts result files appearing in a directory, from inotify events (results are hard-linked in: IN_CREATE).
final class ResultCounter {
    private let inotify: Inotify
    private var seen = Set<String>()

    init(_ directory: String) throws {
        inotify = try Inotify()
        _ = try inotify.watch(directory)
    }

    deinit { inotify.close() }

    func wait(for count: Int, timeout: Double) throws {
        let deadline = Timestamp.now() + timeout
        while seen.count < count {
            guard Timestamp.now() < deadline else {
                throw SpoolError.notFound("only \(seen.count) of \(count) results within \(Int(timeout)) s")
            }
            guard let events = try inotify.read() else { return }
            for event in events where event.name.hasSuffix(".json") { seen.insert(event.name) }
        }
    }
}

extension Array where Element == Double {
    /// The value below which `fraction` of the samples lie (nearest rank).
    public func percentile(_ fraction: Double) -> Double {
        guard !isEmpty else { return .nan }
        let sorted = self.sorted()
        let rank = Swift.min(sorted.count - 1, Swift.max(0, Int((fraction * Double(sorted.count)).rounded(.up)) - 1))
        return sorted[rank]
    }
}

extension [AgentProcess] {
    /// The CPU seconds the processes used so far, together.
    var cpuSeconds: Double { reduce(0) { $0 + (Host.cpuSeconds(of: $1.process.processIdentifier) ?? 0) } }
}
