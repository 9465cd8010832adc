import DZAgent
import DZDeploy
import DZSpool
import DZSystem
import DZTasks
import Logging

/// `read_logs` (queues `appserver_<id>` and `proxy`): the end of a project's logs on this host, for `dz logs`.
///
/// Arguments: `project`; `source`, `instances` (the default: each instance's gunicorn logs, on an appserver) or
/// `site` (the site's nginx access log, on the proxy); optional `instances` (ids; default every instance recorded
/// for the project on this host; ids not recorded here come back in `missing`), `lines` (1 to 1000, default 100)
/// and `since` (an object from file name to `{"offset": N, "inode": N}` or a bare offset, as a previous read
/// returned them: only the lines after it come back; names of other files are ignored).
///
/// Only whitelisted files are read, their paths made here from checked ids, never taken from the arguments:
/// `<apps-root>/<project>/logs/<instance>.error.log` and `.access.log` of the instances the host's records name,
/// reached from the apps root one component at a time without following a link, and only when the file is a
/// regular file of the app's user; and `<logs-dir>/dz_<project>.access.log` of the proxy's settings, not followed if
/// a link. At most 256 KiB is read per task (split between its files) and each line is cut to 4 KiB, so the output
/// stays small. The app's secrets (secret key, database password) are masked in its lines.
///
/// Output: `source`, `queue`, `files` (per file: `name`, `stream` (`error` or `access`), `instance` for an
/// instance's, then `lines`, `offset`, `size`, `inode`, `restarted`, `skipped_bytes`, or `error` when it is missing
/// or refused) and `missing`. Fails only with `bad-args`.
public struct ReadLogsHandler: TaskHandler {
    public let name = "read_logs"
    public let appServer: AppServerSettings
    public let proxy: ProxySettings

    /// The bytes read per task, shared between its files; one file gets at most this much too.
    public static let byteBudget = 256 << 10
    /// The least a file gets of the budget, however many there are.
    static let minimumFileBytes = 4 << 10

    public init(appServer: AppServerSettings, proxy: ProxySettings) {
        self.appServer = appServer
        self.proxy = proxy
    }

    public func run(_ context: TaskContext) async throws -> [String: JSONValue] {
        let args = try context.arguments(of: ReadLogsTask.self)
        let since = args.since.mapValues { LogTail.Position(offset: $0.offset, inode: $0.inode) }
        let tail = LogTail(lines: args.lines, byteLimit: Self.byteBudget, since: nil)
        let queue = context.queue.rawValue
        switch args.source {
        case "instances":
            let (files, missing) = instanceLogs(args.project, wanted: args.instances, tail: tail, since: since,
                                                context.logger)
            return ReadLogsTask.Output(source: "instances", queue: queue, files: files, missing: missing).json
        case "site":
            return ReadLogsTask.Output(source: "site", queue: queue,
                                       files: [siteLog(args.project, tail: tail, since: since)], missing: []).json
        case let other:
            throw TaskFailure.badArgs("source must be instances or site, not \"\(String(other.prefix(40)))\"")
        }
    }

    /// The error and access logs of the project's instances recorded on this host (those of `wanted` only, when
    /// given), and the wanted ids not recorded here.
    private func instanceLogs(_ project: ProjectID, wanted: [String]?, tail: LogTail, since: [String: LogTail.Position],
                              _ logger: Logger) -> ([ReadLogsTask.File], [String])
    {
        var records = InstanceDirectory(root: appServer.instancesRoot).records(project: project.rawValue, logger: logger)
            .filter { $0.project == project.rawValue && TaskID.isValid($0.instance) }
        var missing: [String] = []
        if let wanted {
            missing = wanted.filter { id in !records.contains { $0.instance == id } }
            records = records.filter { wanted.contains($0.instance) }
        }
        let share = Self.share(files: records.count * 2)
        var logs: DirectoryHandle?
        var logsProblem = "missing"
        do {
            logs = try DirectoryHandle.open(appServer.appsRoot).directory(components: [project.rawValue, "logs"])
        } catch {
            logsProblem = LogTail.problem(error)
        }
        var files: [ReadLogsTask.File] = []
        for record in records {
            let secrets = (try? RuntimeEnvironment.read(
                for: record, records: InstanceDirectory(root: appServer.instancesRoot)))?.secrets ?? []
            for stream in ["error", "access"] {
                let name = record.instance + "." + stream + ".log"
                var reading = tail
                reading.byteLimit = share
                reading.since = since[name]
                let excerpt = logs.map { reading.read(name, in: $0, ownedBy: record.uid, secrets: secrets) }
                    ?? LogExcerpt(name: name, problem: logsProblem)
                files.append(excerpt.file(stream: stream, instance: record.instance))
            }
        }
        return (files, missing)
    }

    /// The site's access log, `<logs-dir>/dz_<project>.access.log`.
    private func siteLog(_ project: ProjectID, tail: LogTail, since: [String: LogTail.Position]) -> ReadLogsTask.File {
        let name = Self.siteLogName(project)
        var reading = tail
        reading.byteLimit = Self.share(files: 1)
        reading.since = since[name]
        let excerpt: LogExcerpt
        do {
            excerpt = reading.read(name, in: try DirectoryHandle.open(proxy.logsDirectory), ownedBy: nil, secrets: [])
        } catch {
            excerpt = LogExcerpt(name: name, problem: LogTail.problem(error))
        }
        return excerpt.file(stream: "access")
    }

    /// `dz_<project>.access.log`, as `NginxSite` names it.
    static func siteLogName(_ project: ProjectID) -> String { "dz_" + project.rawValue + ".access.log" }

    /// Each file's part of the byte budget.
    static func share(files: Int) -> Int { max(minimumFileBytes, byteBudget / max(1, files)) }
}
