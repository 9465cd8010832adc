import DZJobs
import DZSpool
import DZStore
import DZSystem
import Foundation

/// Jobs through the coordinator: `selftest` jobs (ten steps each, a fan-out over two appservers) run by real
/// agent and coordinator processes. Reports jobs per second, and the coordinator's added latency per step: from
/// a step's last prerequisite result (its `finished` time) to the next step's task dropped. With `fsync`, the
/// agents and the coordinator run as they do by default (every commit point fsynced, the zoomdb's commits
/// `synchronous = FULL`); without it, with `--no-fsync`.
public struct JobBenchmark: Sendable {
    public var executable: String
    public var directory: String
    public var jobs: Int
    public var agents: Int
    public var concurrency: Int
    /// Jobs run one at a time after the burst, for the coordinator's latency when it is not loaded.
    public var trickle: Int = 20
    public var fsync: Bool
    /// Whether `run` removes its spool and zoomdb when it ends. Off, they are left for the caller (`Report.left`)
    /// to remove after its other rows: on an ext4 without a journal (this project's CI machine), every inode freed
    /// in the last minute or more is skipped, one by one, by each new file's allocation, so a row measured right
    /// after thousands of files were removed pays for that removal in every task it drops.
    public var removeWhenDone = true

    public init(executable: String, directory: String, jobs: Int = 200, agents: Int = 2, concurrency: Int = 4,
                fsync: Bool = false)
    {
        self.fsync = fsync
        self.executable = executable
        self.directory = directory
        self.jobs = jobs
        self.agents = agents
        self.concurrency = concurrency
    }

    public struct Report: Sendable {
        public var jobs: Int
        public var steps: Int
        public var seconds: Double
        /// Under the burst: includes time results wait for the coordinator.
        public var stepLatency: [Double]
        /// Jobs one at a time.
        public var idleStepLatency: [Double]
        /// Under the burst: from a job's submission to its first step dropped (the coordinator starts the jobs of
        /// a burst as fast as results leave room for them: the rest waits in `jobs/new/`).
        public var startLatency: [Double] = []
        public var failed: Int
        /// What the run left for the caller to remove (without `removeWhenDone`).
        public var left: [String] = []
        /// CPU seconds (user and system) the coordinator, and the agents together, used through the burst.
        public var coordinatorCPUSeconds = 0.0
        public var agentCPUSeconds = 0.0
        /// The same jobs' spool file operations alone, in one loop of one process (`RenameFloor` with the
        /// coordinator's side), in jobs per second, measured on the same disk right before the burst.
        public var floorJobsPerSecond = 0.0
        public var jobsPerSecond: Double { Double(jobs) / seconds }
        /// CPU milliseconds per job of the burst.
        public var coordinatorCPUPerJob: Double { coordinatorCPUSeconds * 1000 / Double(jobs) }
        public var agentCPUPerJob: Double { agentCPUSeconds * 1000 / Double(jobs) }
    }

    public func run() throws -> Report {
        let root = directory + "/jobs-" + String(Int(Timestamp.now().seconds * 1000) % 10_000_000)
        let spool = Spool(root: root, host: try HostID("bench"), sync: fsync)
        try spool.initialize(queues: QueueName.standard + [try QueueName("appserver_app1"),
                                                          try QueueName("appserver_app2")])
        // The zoomdb beside the spool, on the same local disk, as a coordinator's own file.
        let dbDirectory = root + ".zoomdb"
        let dbPath = dbDirectory + "/zoomdb.sqlite3"
        // The floor's files stay until the end, with the rest: removed before the burst, they would slow its own
        // (see `removeWhenDone`).
        let floorDirectory = root + ".floor"
        defer {
            if removeWhenDone {
                try? FileManager.default.removeItem(atPath: root)
                try? FileManager.default.removeItem(atPath: dbDirectory)
                try? FileManager.default.removeItem(atPath: floorDirectory)
            }
        }
        let floor = try RenameFloor(directory: floorDirectory, tasks: jobs * Self.stepsPerJob, fsync: fsync,
                                    takesResults: true)
        let floorPerSecond = try floor.run() / Double(Self.stepsPerJob)
        let queues = "build,database,proxy,appserver_app1,appserver_app2"
        let agentProcesses = try (0..<agents).map { index in
            try AgentProcess(executable: executable, spool: root, host: "bench-\(index)", queues: queues, fsync: fsync,
                             concurrency: concurrency)
        }
        let coordinator = [try AgentProcess(coordinatorOn: root, database: dbPath, executable: executable, fsync: fsync)]
        defer { (agentProcesses + coordinator).forEach { $0.stop() } }
        let deadline = Timestamp.now() + 30
        var opened: ZoomDB?
        while opened == nil || spool.heartbeats().count < agents {
            guard Timestamp.now() < deadline else { throw JobError.coordinator("the coordinator or agents did not start") }
            // Read-only, once the coordinator has made and migrated it: only the coordinator writes a zoomdb.
            if opened == nil, let db = try? ZoomDB(readOnlyAt: dbPath), db.schemaVersion == ZoomDB.latestSchemaVersion {
                opened = db
            }
            usleep(20_000)
        }
        guard let db = opened else { throw JobError.coordinator("the coordinator did not start") }
        let cpuBefore = (coordinator.cpuSeconds, agentProcesses.cpuSeconds)
        let start = Timestamp.now()
        var ended = try endedJobs(db)
        var burst: [String] = []
        for _ in 0..<jobs { burst.append(try submit(spool)) }
        ended = try wait(db, forMore: burst.count, than: ended)
        let end = Timestamp.now()
        let cpuAfter = (coordinator.cpuSeconds, agentProcesses.cpuSeconds)
        var idle: [String] = []
        for _ in 0..<trickle {
            idle.append(try submit(spool))
            ended = try wait(db, forMore: 1, than: ended)
        }
        let burstJobs = try burst.compactMap { try db.job($0) }
        let (latencies, stepCount) = try stepLatencies(db, burst)
        let (idleLatencies, _) = try stepLatencies(db, idle)
        var report = Report(jobs: jobs, steps: stepCount, seconds: end - start, stepLatency: latencies,
                            idleStepLatency: idleLatencies, failed: burstJobs.filter { $0.state != .succeeded }.count)
        report.startLatency = try burstJobs.compactMap { job in
            try db.steps(of: job.id).compactMap(\.dispatched).min().map { $0 - job.issuedAt }
        }
        report.coordinatorCPUSeconds = cpuAfter.0 - cpuBefore.0
        report.agentCPUSeconds = cpuAfter.1 - cpuBefore.1
        report.floorJobsPerSecond = floorPerSecond
        if !removeWhenDone { report.left = [root, dbDirectory, floorDirectory] }
        return report
    }

    /// The tasks of one `selftest` job: checkout, bundle, a fan-out of two deploys, ..., ten in all.
    public static let stepsPerJob = 10

    private func submit(_ spool: Spool) throws -> String {
        let id = JobRequest.newJobID()
        let request = JobRequest.submit(id: id, kind: "selftest", project: "bench",
                                        params: ["appservers": .string("app1,app2")], issuedBy: "bench")
        try spool.drop(try request.taskFile(host: spool.host), into: .jobs)
        return id
    }

    /// Waits until `count` jobs more than `before` have ended (the jobs submitted since `before` was counted are
    /// the only ones running); returns how many have. One query per look (counts by state), so that the benchmark
    /// takes little of the CPU the coordinator and the agents share with it.
    private func wait(_ db: ZoomDB, forMore count: Int, than before: Int) throws -> Int {
        let deadline = Timestamp.now() + 600
        while true {
            let ended = try endedJobs(db)
            if ended - before >= count { return ended }
            guard Timestamp.now() < deadline else {
                throw JobError.coordinator("\(count - (ended - before)) jobs did not end in 600 s")
            }
            usleep(count == 1 ? 1000 : 10_000)
        }
    }

    private func endedJobs(_ db: ZoomDB) throws -> Int {
        try db.jobCounts().filter { $0.key.isFinal }.values.reduce(0, +)
    }

    /// For every step with prerequisites: its task dropped minus the last prerequisite's result.
    private func stepLatencies(_ db: ZoomDB, _ ids: [String]) throws -> ([Double], Int) {
        var latencies: [Double] = []
        var stepCount = 0
        for id in ids {
            guard let job = try db.job(id), let kind = JobCatalog.standard.kind(job.kind) else { continue }
            let steps = try db.steps(of: id)
            stepCount += steps.count
            for step in steps {
                guard let definition = kind.step(step.definition), !definition.after.isEmpty,
                      let dispatched = step.dispatched else { continue }
                let before = steps.filter { definition.after.contains($0.definition) }.compactMap(\.finished)
                guard let ready = before.max() else { continue }
                latencies.append(dispatched - ready)
            }
        }
        return (latencies, stepCount)
    }
}
