#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DZJobs
import DZSpool
import DZStore
import DZSystem
import Foundation

/// The main job as a user waits for it: a cold `build_and_deploy` of the example app, then `redeploys` warm ones
/// (a code change, the same requirements), through a real coordinator, agents, nginx, gunicorn and bubblewrap on
/// one machine (`DeployCluster`, the layout of `scripts/deploy`). Needs root, as the app's unix user and sandbox do.
///
/// For each deploy: submission (the request dropped into `jobs`) to the new release answering through nginx (the
/// page polled every 10 ms with the app's `Host` until it shows the revision's marker), submission to the job's
/// end (as the zoomdb records it), and each step's wait (dispatched to started) and run (started to finished) from
/// the zoomdb, with the build's own stages from build_bundle's `timings`.
public struct DeployBenchmark: Sendable {
    public var executable: String
    public var directory: String
    /// The example project to copy (examples/hello).
    public var example: String
    public var redeploys: Int
    /// Whether the agents and the coordinator fsync (the embedded defaults do).
    public var fsync: Bool

    public init(executable: String, directory: String, example: String, redeploys: Int, fsync: Bool = true) {
        self.executable = executable
        self.directory = directory
        self.example = example
        self.redeploys = redeploys
        self.fsync = fsync
    }

    /// One step's times, in seconds.
    public struct StepTime: Sendable {
        public var name: String
        public var waited: Double
        public var ran: Double
    }

    public struct Deploy: Sendable {
        public var warm: Bool
        public var job: String
        public var succeeded: Bool
        /// Submission to the new release's page through nginx; nil when it never showed.
        public var toSwitch: Double?
        /// Submission to proxy_update's finish, as the zoomdb records it.
        public var toProxyUpdated: Double?
        public var toEnd: Double
        public var steps: [StepTime]
        /// build_bundle's stages (`timings`), in its order.
        public var buildStages: [(String, Double)]
        /// The first deploy step's stages (`timings`), in their order.
        public var deployStages: [(String, Double)] = []
        public var virtualenvReused: Bool
    }

    public struct Report: Sendable {
        public var deploys: [Deploy]
    }

    public static let project = "hello"
    public static let hostname = "hello.localhost"

    public func run(progress: (String) -> Void) throws -> Report {
        guard geteuid() == 0 else {
            throw DeployCluster.Failure("the deploy benchmark needs root: apps run as their own unix users in a sandbox")
        }
        let cluster = try DeployCluster(executable: executable, directory: directory, example: example, fsync: fsync)
        defer { cluster.stop() }
        try cluster.start()
        progress("deploy: agents and coordinator on \(cluster.spoolRoot), nginx on 127.0.0.1:\(cluster.port)")
        var deploys: [Deploy] = []
        for index in 0...redeploys {
            try cluster.changeCode(marker: "dz-bench-revision-\(index)")
            let deploy = try measure(cluster, warm: index > 0, marker: "dz-bench-revision-\(index)")
            progress(String(format: "deploy %d (%@): %@, switched %@ s, ended %.2f s after submission", index,
                            deploy.warm ? "warm" : "cold", deploy.succeeded ? "succeeded" : "FAILED",
                            deploy.toSwitch.map { String(format: "%.2f", $0) } ?? "-", deploy.toEnd))
            deploys.append(deploy)
            guard deploy.succeeded else {
                throw DeployCluster.Failure("job \(deploy.job) failed; its record: dz job show \(deploy.job) "
                                            + "--spool \(cluster.spoolRoot) (kept: run with --spool to keep it)\n"
                                            + cluster.logTails())
            }
        }
        return Report(deploys: deploys)
    }

    private func measure(_ cluster: DeployCluster, warm: Bool, marker: String) throws -> Deploy {
        let spool = Spool(root: cluster.spoolRoot, host: try HostID("bench"), sync: fsync)
        let id = JobRequest.newJobID()
        let request = JobRequest.submit(
            id: id, kind: "build_and_deploy", project: Self.project,
            params: ["source": .string(cluster.repository), "hostnames": .string(Self.hostname),
                     "db_engine": .string("sqlite")],
            issuedBy: "bench")
        let submitted = Timestamp.now()
        try spool.drop(try request.taskFile(host: spool.host), into: .jobs)
        var switched: Timestamp?
        var ended: JobRecord?
        let deadline = submitted + 900
        var lastCheck = Timestamp(nanoseconds: 0)
        while ended == nil || (switched == nil && ended?.state == .succeeded && Timestamp.now() < deadline) {
            guard Timestamp.now() < deadline else { throw DeployCluster.Failure("job \(id) did not end in 900 s") }
            if switched == nil, cluster.page().contains(marker) { switched = Timestamp.now() }
            if ended == nil, Timestamp.now() - lastCheck > 0.05 {
                lastCheck = Timestamp.now()
                if let job = try cluster.database()?.job(id), job.state.isFinal { ended = job }
            }
            usleep(10_000)
        }
        guard let job = ended, let db = try cluster.database() else { throw DeployCluster.Failure("no zoomdb") }
        let records = try db.steps(of: id)
        let steps = records.filter { $0.started != nil && $0.finished != nil }
            .sorted { ($0.started!, $0.name) < ($1.started!, $1.name) }
            .map { StepTime(name: $0.name, waited: $0.started! - ($0.dispatched ?? $0.started!),
                            ran: $0.finished! - $0.started!) }
        let built = records.first { $0.definition == "build_bundle" }?.output
        let stages = (built?["timings"]?.objectValue ?? [:]).compactMap { key, value in
            value.doubleValue.map { (key, $0) }
        }.sorted { Self.stageOrder($0.0) < Self.stageOrder($1.0) }
        let deployed = records.first { $0.definition == "deploy" }?.output
        let deployStages = (deployed?["timings"]?.objectValue ?? [:]).compactMap { key, value in
            value.doubleValue.map { (key, $0) }
        }.sorted { (Self.deployStageOrder($0.0), $0.0) < (Self.deployStageOrder($1.0), $1.0) }
        let proxy = records.first { $0.definition == "proxy_update" }?.finished
        // The job's end as recorded, measured from the submitter's clock (the same machine's).
        let end = job.finished.map { $0 - submitted } ?? (Timestamp.now() - submitted)
        return Deploy(warm: warm, job: id, succeeded: job.state == .succeeded, toSwitch: switched.map { $0 - submitted },
                      toProxyUpdated: proxy.map { $0 - submitted }, toEnd: end, steps: steps, buildStages: stages,
                      deployStages: deployStages, virtualenvReused: built?["virtualenv_reused"] == .bool(true))
    }

    /// The deploy's stages in the order they run (see `DeployHandler`).
    static func deployStageOrder(_ stage: String) -> Int {
        ["user", "directories", "install lock", "fetch", "extract", "venv", "chown", "install record", "sandbox",
         "port and record", "spawn", "pid file", "listening", "answering", "running record"]
            .firstIndex(of: stage) ?? 99
    }

    /// The build's stages in the order they run.
    static func stageOrder(_ stage: String) -> Int {
        ["checkout", "copy", "virtualenv", "import check", "collectstatic", "archive"]
            .firstIndex { stage.hasPrefix($0) } ?? 99
    }
}
