import DZSpool
import DZSystem
import DZTasks
import Foundation

/// What this host knows of one running app server (a gunicorn master and its workers): the JSON file
/// `<instancesRoot>/<project>/<instance>.json` (mode 0600, root's). The supervisor relaunches a dead master from
/// `argv` exactly, so records live where no app can write.
public struct InstanceRecord: Sendable, Equatable, Codable {
    public enum State: String, Sendable, Codable {
        /// A deploy is launching it and checking its health: the supervisor leaves it alone.
        case starting
        /// Serving; the supervisor relaunches it if its master dies.
        case running
        /// `stop_instances` is stopping it.
        case stopping
        /// It crashed too often; the supervisor no longer relaunches it.
        case failed
    }

    /// `<bundle>.<appserver>.<port>`.
    public var instance: String
    public var project: String
    public var bundle: String
    public var appserver: String
    public var address: String
    public var port: Int
    /// The master's pid (the host's, as gunicorn writes it to `pidFile`); 0 before it is known.
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32
    public var user: String
    /// Whether processes switch to `uid` (dz runs as root).
    public var switchesUser: Bool
    public var workers: Int
    public var wsgi: String
    /// The launch command, sandbox and all.
    public var argv: [String]
    /// The sandbox part of `argv` (bwrap, setpriv and their options), which the app's hooks run in too.
    public var sandbox: [String]
    /// `<appsRoot>/<project>`.
    public var appDirectory: String
    /// `<appDirectory>/run/<instance>.pid`, written by gunicorn.
    public var pidFile: String
    /// When the deploy launched it (RFC 3339).
    public var started: String
    public var restarts: Int
    /// When the supervisor relaunched it lately (seconds since the epoch), for the crash-loop limit.
    public var recentRestarts: [Double]
    public var job: String?
    /// The deploy task that made it: a retried task finds its instance by this.
    public var task: String?
    public var state: State
    /// The app's limits this instance runs with (nil in records of an older dz: the agent's defaults).
    public var limits: AppLimits?

    /// Every field, as a deploy records a new instance.
    public init(instance: String, project: String, bundle: String, appserver: String, address: String, port: Int,
                pid: Int32, uid: UInt32, gid: UInt32, user: String, switchesUser: Bool, workers: Int, wsgi: String,
                argv: [String], sandbox: [String], appDirectory: String, pidFile: String, started: String,
                restarts: Int, recentRestarts: [Double], job: String? = nil, task: String? = nil, state: State,
                limits: AppLimits? = nil)
    {
        self.instance = instance
        self.project = project
        self.bundle = bundle
        self.appserver = appserver
        self.address = address
        self.port = port
        self.pid = pid
        self.uid = uid
        self.gid = gid
        self.user = user
        self.switchesUser = switchesUser
        self.workers = workers
        self.wsgi = wsgi
        self.argv = argv
        self.sandbox = sandbox
        self.appDirectory = appDirectory
        self.pidFile = pidFile
        self.started = started
        self.restarts = restarts
        self.recentRestarts = recentRestarts
        self.job = job
        self.task = task
        self.state = state
        self.limits = limits
    }

    enum CodingKeys: String, CodingKey {
        case instance, project, bundle, appserver, address, port, pid, uid, gid, user, workers, wsgi, argv, sandbox
        case started, restarts, job, task, state, limits
        case switchesUser = "switches_user", appDirectory = "app_directory", pidFile = "pid_file"
        case recentRestarts = "recent_restarts"
    }

    /// The app's user as the record names it.
    var appUser: AppUser { AppUser(name: user, uid: uid, gid: gid, switches: switchesUser) }

    /// `<appDirectory>/<bundle>`.
    var bundleDirectory: String { appDirectory + "/" + bundle }

    /// The error log gunicorn writes: `<appDirectory>/logs/<instance>.error.log`.
    var errorLogName: String { instance + ".error.log" }

    /// The record with `workers` changed, in `argv` too (the value after the gunicorn command's `--workers`), so
    /// that a master the supervisor relaunches starts with as many.
    package func settingWorkers(_ workers: Int) -> InstanceRecord {
        var record = self
        record.workers = workers
        let command = record.argv.indices.dropFirst(min(sandbox.count, record.argv.count))
        if let flag = command.first(where: { record.argv[$0] == "--workers" }), flag + 1 < record.argv.count {
            record.argv[flag + 1] = String(workers)
        }
        return record
    }

    /// Pretty, sorted JSON.
    func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return Array(try encoder.encode(self)) + [10]
    }

    static func decode(_ bytes: [UInt8]) throws -> InstanceRecord {
        try JSONDecoder().decode(InstanceRecord.self, from: Data(bytes))
    }

    /// What `deploy` returns for this instance; `limitsBy` says how the host enforces the limits
    /// (`AppCgroups.name`), `mediaRoot` is the app's media directory on this appserver.
    package func output(adopted: Bool, limitsBy: String, mediaRoot: String) -> DeployTask.Output {
        var output = DeployTask.Output(instance: instance, appserver: appserver, address: address, port: port,
                                       bundle: bundle, project: project, user: user, pid: Int(pid),
                                       workers: workers, adopted: adopted)
        output.limits = limits.map { $0.jsonObject.merging(["enforced_by": .string(limitsBy)]) { $1 } }
        output.mediaRoot = mediaRoot
        return output
    }
}
