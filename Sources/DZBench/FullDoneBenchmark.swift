import DZSpool
import DZSystem
import Foundation

/// Whether a day's `done/` full of files slows the agents or `dz status`: the same measurements on a spool whose
/// `done/<today>/` is empty and on one where it holds `filled` files (a busy day's work): one agent draining a
/// backlog of `tasks`, and `dz status` run `statusRuns` times. The full row is judged against the empty one.
public struct FullDoneBenchmark: Sendable {
    public var executable: String
    public var directory: String
    public var filled: Int
    public var tasks: Int
    public var statusRuns: Int
    public var concurrency: Int

    public init(executable: String, directory: String, filled: Int = 100_000, tasks: Int = 2000, statusRuns: Int = 5,
                concurrency: Int = 4)
    {
        self.executable = executable
        self.directory = directory
        self.filled = filled
        self.tasks = max(2, tasks)
        self.statusRuns = max(1, statusRuns)
        self.concurrency = concurrency
    }

    public struct Row: Sendable {
        /// Files in today's `done/` before the agent started.
        public var done: Int
        public var fillSeconds: Double
        /// Tasks per second draining the backlog, from the first result to the last.
        public var perSecond: Double
        /// Seconds each `dz status` took, fastest first.
        public var statusSeconds: [Double]
    }

    /// The empty row, then the full one; each spool removed at the end.
    public func run(progress: (String) -> Void) throws -> [Row] {
        var roots: [String] = []
        defer { for root in roots { try? FileManager.default.removeItem(atPath: root) } }
        var rows: [Row] = []
        for done in [0, filled] {
            let (row, root) = try measure(done: done)
            roots.append(root)
            rows.append(row)
            progress(String(format: "  full done/: %d files (made in %.1f s): %.0f tasks/s, dz status %.3f s (median)",
                            done, row.fillSeconds, row.perSecond, row.statusSeconds.percentile(0.5)))
        }
        return rows
    }

    private func measure(done: Int) throws -> (Row, String) {
        let root = directory + "/done-\(done)-" + String(Int(Timestamp.now().seconds * 1000) % 10_000_000)
        let spool = Spool(root: root, host: try HostID("bench"), sync: false)
        let queue = try QueueName("bench")
        try spool.initialize(queues: [queue, .results])
        let start = Timestamp.now()
        let today = spool.path(queue, .done) + "/" + Timestamp.now().utcDay
        try FileSystem.makeDirectories(today)
        // Empty files: `dz status` and the agents never read what is in done/.
        for _ in 0..<done {
            try FileIO.create(today + "/" + TaskID.generate(host: spool.host).rawValue + ".json", bytes: [],
                              sync: false)
        }
        // As the agents that moved them there would have left it (see `DoneTally`).
        if done > 0 {
            let tally = spool.tallyPath(queue, day: Timestamp.now().utcDay)
            try FileSystem.makeDirectories(tally)
            try FileIO.create(tally + "/bench-fill.1.00000000", bytes: Array("\(done)\n".utf8), sync: false)
        }
        let fill = Timestamp.now() - start

        try DeepBacklogBenchmark.fill(spool, queue, count: tasks)
        let watcher = try ResultCounter(spool.path(.results, .new))
        let agent = try AgentProcess(executable: executable, spool: root, host: "bench", queues: "bench", fsync: false,
                                     concurrency: concurrency)
        try watcher.wait(for: 1, timeout: 600)
        let first = Timestamp.now()
        try watcher.wait(for: tasks, timeout: 600)
        let rate = Double(tasks - 1) / (Timestamp.now() - first)
        agent.stop()

        var seconds: [Double] = []
        for _ in 0..<statusRuns {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = ["status", "--spool", root]
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            let began = Timestamp.now()
            try process.run()
            process.waitUntilExit()
            seconds.append(Timestamp.now() - began)
            guard process.terminationStatus == 0 else {
                throw SpoolError.notFound("dz status on \(root) exited \(process.terminationStatus)")
            }
        }
        return (Row(done: done, fillSeconds: fill, perSecond: rate, statusSeconds: seconds.sorted()), root)
    }
}
