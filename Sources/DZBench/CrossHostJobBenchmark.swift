import DZJobs
import DZSpool
import DZStore
import DZSystem
import Foundation

/// A job across hosts: a real `dz coordinator` and a real `dz agent` each see the spool through a bindfs view of
/// their own (two "hosts" whose inotify never hears the other's writes, as NFS clients), and `selftest` jobs (ten
/// no-op steps with the deploy fanned out over two appservers; each step a hop from the coordinator to the agent
/// and back) are submitted straight into the spool one at
/// a time. Measured with wake-up rings (both listen on 127.0.0.1) and without (every hop waits for a rescan).
/// Reported per job: from its submission to its end, and the part of it no step ran (the waiting between hosts,
/// with the coordinator's own work).
public struct CrossHostJobBenchmark: Sendable {
    public var executable: String
    public var directory: String
    /// Jobs measured with wake-ups.
    public var jobs: Int
    /// Jobs measured without (each hop waits up to a rescan interval).
    public var jobsWithoutWakeups: Int
    /// The agent's and the coordinator's `--rescan`, in seconds.
    public var rescan: Double

    public init(executable: String, directory: String, jobs: Int = 10, jobsWithoutWakeups: Int = 2, rescan: Double = 5) {
        self.executable = executable
        self.directory = directory
        self.jobs = jobs
        self.jobsWithoutWakeups = jobsWithoutWakeups
        self.rescan = rescan
    }

    /// One row: per job, seconds.
    public struct Row: Sendable {
        public var wakeups: Bool
        public var steps: Int
        public var duration: [Double]
        public var waiting: [Double]
        public var failed: Int
    }

    public func run(progress: (String) -> Void) throws -> [Row] {
        var rows: [Row] = []
        for wakeups in [true, false] where (wakeups ? jobs : jobsWithoutWakeups) > 0 {
            rows.append(try measure(wakeups: wakeups))
            progress("  cross-host jobs, wake-ups \(wakeups ? "on" : "off"): \(rows.last!.duration.count) jobs")
        }
        return rows
    }

    private func measure(wakeups: Bool) throws -> Row {
        let base = directory + "/xjobs-\(wakeups ? "wake" : "rescan")-"
            + String(Int(Timestamp.now().seconds * 1000) % 10_000_000)
        let root = base + "/spool"
        var spool = Spool(root: root, host: try HostID("bench-submitter"), sync: false)
        try spool.initialize(queues: QueueName.standard + [try QueueName("appserver_app1"), try QueueName("appserver_app2")])
        defer { try? FileManager.default.removeItem(atPath: base) }
        let agentView = try BindfsView(root, at: base + "/view-agent")
        defer { agentView.unmount() }
        let coordinatorView = try BindfsView(root, at: base + "/view-coordinator")
        defer { coordinatorView.unmount() }

        let rescanText = String(format: "%.3fs", rescan)
        let wake = wakeups ? ["--wake-listen", "127.0.0.1"] : []
        let agent = try AgentProcess(executable: executable, spool: agentView.point, host: "bench-agent-host",
                                     queues: "build,database,proxy,appserver_app1,appserver_app2", fsync: false, concurrency: 4,
                                     rescan: rescanText, extra: wake)
        defer { agent.stop() }
        let dbPath = base + "/coordinator/zoomdb.sqlite3"
        let coordinator = try AgentProcess(coordinatorOn: coordinatorView.point, database: dbPath, executable: executable,
                                           fsync: false, extra: ["--rescan", rescanText] + wake)
        defer { coordinator.stop() }

        // Both up, and (with wake-ups) each knowing where the other listens: the coordinator's lease and the
        // agent's heartbeat publish their addresses, which each reads again every `Wakeups.refreshInterval`.
        let deadline = Timestamp.now() + 60
        let ringer = Wakeups(spool: spool)
        while true {
            ringer.refresh()
            let agentUp = spool.heartbeats().contains { !wakeups || !$0.wake.isEmpty }
            let coordinatorUp = FileSystem.exists(dbPath)
                && (!wakeups || !ringer.addresses(of: .jobs).isEmpty)
            if agentUp && coordinatorUp { break }
            guard Timestamp.now() < deadline, agent.process.isRunning, coordinator.process.isRunning else {
                throw BenchError("the coordinator or the agent behind the bindfs views did not start within 60 s")
            }
            usleep(20_000)
        }
        if wakeups {
            // Until both have read the other's address, a hop would wait for a rescan.
            usleep(UInt32((Wakeups.refreshInterval + 1) * 1e6))
            spool.wakeups = ringer
        }

        let db = try ZoomDB(path: dbPath)
        var row = Row(wakeups: wakeups, steps: 0, duration: [], waiting: [], failed: 0)
        for _ in 0..<(wakeups ? jobs : jobsWithoutWakeups) {
            let id = JobRequest.newJobID()
            let request = JobRequest.submit(id: id, kind: "selftest", project: "bench",
                                            params: ["appservers": .string("app1,app2")], issuedBy: "bench")
            try spool.drop(try request.taskFile(host: spool.host), into: .jobs)
            let limit = Timestamp.now() + rescan * 40 + 120
            var job: JobRecord?
            while true {
                job = try db.job(id)
                if let job, job.state.isFinal { break }
                guard Timestamp.now() < limit else { throw BenchError("job \(id) did not end in time") }
                usleep(2000)
            }
            guard let job, let finished = job.finished else { continue }
            let steps = try db.steps(of: id)
            let running = steps.reduce(0.0) { total, step in
                guard let started = step.started, let ended = step.finished else { return total }
                return total + max(0, ended - started)
            }
            row.steps = steps.count
            row.duration.append(finished - job.issuedAt)
            row.waiting.append(finished - job.issuedAt - running)
            if job.state != .succeeded { row.failed += 1 }
            usleep(UInt32(Double.random(in: 0.01...0.05) * 1e6))
        }
        return row
    }
}
