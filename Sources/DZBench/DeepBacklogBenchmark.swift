import DZSpool
import DZSystem
import Foundation

/// Whether an agent's rate holds as work piles up: one agent drains a backlog of `shallow` tasks, then one of
/// `deep` tasks, and each is timed over the same first `sample` results (from the first to the `sample`-th), so
/// both measure the same work with a different number of tasks waiting behind it. The deep row is judged against
/// the shallow one (the goal: at least 80%).
public struct DeepBacklogBenchmark: Sendable {
    public var executable: String
    public var directory: String
    public var shallow: Int
    public var deep: Int
    public var sample: Int
    public var repeats: Int
    public var concurrency: Int

    public init(executable: String, directory: String, shallow: Int = 1000, deep: Int = 100_000, sample: Int = 1000,
                repeats: Int = 3, concurrency: Int = 4)
    {
        self.executable = executable
        self.directory = directory
        self.shallow = shallow
        self.deep = max(deep, shallow)
        self.sample = max(2, min(sample, shallow))
        self.repeats = max(1, repeats)
        self.concurrency = concurrency
    }

    public struct Row: Sendable {
        /// Tasks waiting when the agent started.
        public var waiting: Int
        public var sample: Int
        /// Seconds to drop them (not measured against the agent).
        public var fillSeconds: Double
        /// Tasks per second over the first `sample` results, each run, slowest first.
        public var rates: [Double]
        public var perSecond: Double { rates.percentile(0.5) }
    }

    /// The shallow row, then the deep one; each run on a fresh spool, removed at the end.
    public func run(progress: (String) -> Void) throws -> [Row] {
        var roots: [String] = []
        defer { for root in roots { try? FileManager.default.removeItem(atPath: root) } }
        var rows: [Row] = []
        for waiting in [shallow, deep] {
            var row = Row(waiting: waiting, sample: sample, fillSeconds: 0, rates: [])
            for _ in 0..<repeats {
                let (rate, fill, root) = try drain(waiting: waiting)
                roots.append(root)
                row.rates.append(rate)
                row.fillSeconds = fill
                progress(String(format: "  deep backlog: %d waiting, the first %d results at %.0f/s (dropped in %.1f s)",
                                waiting, sample, rate, fill))
            }
            row.rates.sort()
            rows.append(row)
        }
        return rows
    }

    private func drain(waiting: Int) throws -> (Double, Double, String) {
        let root = directory + "/deep-\(waiting)-" + String(Int(Timestamp.now().seconds * 1000) % 10_000_000)
        let spool = Spool(root: root, host: try HostID("bench"), sync: false)
        let queue = try QueueName("bench")
        try spool.initialize(queues: [queue, .results])
        let start = Timestamp.now()
        try Self.fill(spool, queue, count: waiting)
        let fill = Timestamp.now() - start
        let watcher = try ResultCounter(spool.path(.results, .new))
        let agent = try AgentProcess(executable: executable, spool: root, host: "bench", queues: "bench", fsync: false,
                                     concurrency: concurrency)
        defer { agent.stop() }
        try watcher.wait(for: 1, timeout: 600)
        let first = Timestamp.now()
        try watcher.wait(for: sample, timeout: 600)
        return (Double(sample - 1) / (Timestamp.now() - first), fill, root)
    }

    /// Writes `count` noop tasks straight into the queue's `new/`, each one `open`, `write` and `close`: no agent
    /// runs yet, so none can see a file half written, and a hundred thousand take seconds, not the minutes that
    /// as many drops (temporary file, rename, audit line) would.
    static func fill(_ spool: Spool, _ queue: QueueName, count: Int) throws {
        let dir = spool.path(queue, .new)
        for _ in 0..<count {
            let task = TaskFile(id: TaskID.generate(host: spool.host), task: "noop")
            try FileIO.create(dir + "/" + task.id.rawValue + ".json", bytes: task.encoded(), sync: false)
        }
    }
}
