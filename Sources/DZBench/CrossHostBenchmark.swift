import DZSpool
import DZSystem
import Foundation

/// Cross-host pickup: a real `dz agent` sees the spool through a bindfs view of its own (an "other host": its
/// inotify never hears the drops), and single tasks are dropped straight into the spool directory, one at a time.
/// Measured with wake-up rings (the agent listens on 127.0.0.1, the dropper rings it after each drop) and without
/// (the agent finds each task at its next rescan). Pickup is from the start of the drop call to the handler's
/// start, as the result reports it (one machine, one clock).
public struct CrossHostBenchmark: Sendable {
    public var executable: String
    public var directory: String
    /// Drops measured with wake-ups.
    public var drops: Int
    /// Drops measured without (each waits up to a rescan interval).
    public var dropsWithoutWakeups: Int
    /// The agent's `--rescan`, in seconds (its default: 5).
    public var rescan: Double

    public init(executable: String, directory: String, drops: Int = 200, dropsWithoutWakeups: Int = 20,
                rescan: Double = 5)
    {
        self.executable = executable
        self.directory = directory
        self.drops = drops
        self.dropsWithoutWakeups = dropsWithoutWakeups
        self.rescan = rescan
    }

    /// One row: pickups in seconds.
    public struct Row: Sendable {
        public var wakeups: Bool
        public var pickup: [Double]
        /// Rings the dropper sent (0 without wake-ups).
        public var rings: Int
    }

    public func run(progress: (String) -> Void) throws -> [Row] {
        var rows: [Row] = []
        for wakeups in [true, false] {
            rows.append(try measure(wakeups: wakeups))
            progress("  cross-host pickup, wake-ups \(wakeups ? "on" : "off"): \(rows.last!.pickup.count) drops")
        }
        return rows
    }

    private func measure(wakeups: Bool) throws -> Row {
        let base = directory + "/xhost-\(wakeups ? "wake" : "rescan")-" + String(Int(Timestamp.now().seconds * 1000) % 10_000_000)
        let root = base + "/spool"
        var spool = Spool(root: root, host: try HostID("bench-dropper"), sync: false)
        let queue = try QueueName("bench")
        try spool.initialize(queues: [queue, .results])
        defer { try? FileManager.default.removeItem(atPath: base) }
        let view = try BindfsView(root, at: base + "/view")
        defer { view.unmount() }

        let ringer = Wakeups(spool: spool)
        if wakeups { spool.wakeups = ringer }
        let rescanText = String(format: "%.3fs", rescan)
        let agent = try AgentProcess(executable: executable, spool: view.point, host: "bench-other-host", queues: "bench",
                                     fsync: false, concurrency: 4, rescan: rescanText,
                                     extra: wakeups ? ["--wake-listen", "127.0.0.1"] : [])
        defer { agent.stop() }
        let deadline = Timestamp.now() + 30
        while true {
            let beats = spool.heartbeats()
            if let beat = beats.first, !wakeups || !beat.wake.isEmpty { break }
            guard Timestamp.now() < deadline, agent.process.isRunning else {
                throw BenchError("the agent behind the bindfs view did not start (no heartbeat within 30 s)")
            }
            usleep(20_000)
        }
        if wakeups {
            ringer.refresh()
            guard !ringer.addresses(of: queue).isEmpty else { throw BenchError("the agent published no wake address") }
        }

        let watcher = try ResultCounter(spool.path(.results, .new))
        var pickup: [Double] = []
        let count = wakeups ? drops : dropsWithoutWakeups
        for index in 0..<count {
            let id = TaskID.generate(host: spool.host)
            let dropped = Timestamp.now()
            try spool.drop(TaskFile(id: id, task: "noop"), into: queue)
            try watcher.wait(for: index + 1, timeout: rescan * 3 + 60)
            let result = try ResultFile(parsing: try FileIO.readAll(spool.path(.results, .new) + "/\(id).json"))
            if let started = result.started { pickup.append(started - dropped) }
            // Without wake-ups, a drop right after a pickup (made at a rescan) would wait a whole interval: each waits
            // a random part of it first, so that drops land anywhere in the interval, as a producer's would.
            let pause = wakeups ? Double.random(in: 0.002...0.02) : Double.random(in: 0...rescan)
            usleep(UInt32(pause * 1e6))
        }
        return Row(wakeups: wakeups, pickup: pickup, rings: ringer.statistics.sent)
    }
}
