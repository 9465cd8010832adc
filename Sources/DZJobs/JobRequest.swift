import DZSpool
import DZSystem

/// A request to the coordinator, dropped into the `jobs` queue as an ordinary task file: `submit_job` (its id is
/// the new job's id), `cancel_job`, or `set_config` (a change of an app's environment; its id is the id of the
/// config job that reports it). Going through the spool lets any host submit, cancel and configure.
public enum JobRequest: Sendable, Equatable {
    case submit(id: String, kind: String, project: String?, params: [String: JSONValue], issuedBy: String?)
    case cancel(job: String, reason: String)
    case configure(id: String, project: String, change: ConfigChange, issuedBy: String?)

    public static let submitTask = "submit_job"
    public static let cancelTask = "cancel_job"
    public static let configureTask = "set_config"

    /// A new job id: `J` + UTC time to the microsecond + random hex (sorts by submission time).
    public static func newJobID(at time: Timestamp = .now()) -> String {
        let random = Host.randomBytes(4).map { String($0 >> 4, radix: 16) + String($0 & 15, radix: 16) }.joined()
        return "J" + time.compact + "-" + random
    }

    /// The task file that carries this request.
    public func taskFile(host: HostID) throws(SpoolError) -> TaskFile {
        switch self {
        case .submit(let id, let kind, let project, let params, let issuedBy):
            var args: [String: JSONValue] = ["kind": .string(kind), "params": .object(params)]
            if let project { args["project"] = .string(project) }
            if let issuedBy { args["issued_by"] = .string(issuedBy) }
            return TaskFile(id: try TaskID(id), task: JobRequest.submitTask, args: args, job: id, maxAttempts: 1,
                            created: .now())
        case .cancel(let job, let reason):
            return TaskFile(id: TaskID.generate(host: host), task: JobRequest.cancelTask,
                            args: ["job": .string(job), "reason": .string(reason)], job: job, maxAttempts: 1,
                            created: .now())
        case .configure(let id, let project, let change, let issuedBy):
            var args = change.args
            args["project"] = .string(project)
            if let issuedBy { args["issued_by"] = .string(issuedBy) }
            return TaskFile(id: try TaskID(id), task: JobRequest.configureTask, args: args, job: id, maxAttempts: 1,
                            created: .now())
        }
    }

    /// Reads a request from its task file.
    public init(_ task: TaskFile) throws(BadInput) {
        switch task.task {
        case JobRequest.submitTask:
            guard let kind = task.args["kind"]?.stringValue else { throw BadInput("field", "submit_job needs args.kind") }
            let project = task.args["project"]?.stringValue
            if let project, !ProjectID.isValid(project) {
                throw BadInput("field", "invalid project id \"\(String(project.prefix(40)))\": use [a-z][a-z0-9_]*, at most 30 characters")
            }
            let params = task.args["params"]?.objectValue ?? [:]
            self = .submit(id: task.id.rawValue, kind: kind, project: project, params: params,
                           issuedBy: task.args["issued_by"]?.stringValue)
        case JobRequest.cancelTask:
            guard let job = task.args["job"]?.stringValue, TaskID.isValid(job) else {
                throw BadInput("field", "cancel_job needs a valid args.job")
            }
            self = .cancel(job: job, reason: task.args["reason"]?.stringValue ?? "cancelled")
        case JobRequest.configureTask:
            guard let project = task.args["project"]?.stringValue, ProjectID.isValid(project) else {
                throw BadInput("field", "set_config needs a valid args.project")
            }
            self = .configure(id: task.id.rawValue, project: project, change: try ConfigChange(args: task.args),
                              issuedBy: task.args["issued_by"]?.stringValue)
        default:
            throw BadInput("unknown-task", "the jobs queue takes submit_job, cancel_job and set_config, not \"\(task.task)\"")
        }
    }

    /// The request file as it may stay in the spool once recorded: a `set_config` request without its values
    /// (their names only); nil for any other request, or one already without them.
    public static func scrubbed(_ task: TaskFile) -> TaskFile? {
        guard task.task == configureTask, let set = task.args["set"] else { return nil }
        var copy = task
        copy.args["set"] = nil
        copy.args["set_names"] = .array((set.objectValue ?? [:]).keys.sorted().map { .string($0) })
        copy.args["scrubbed"] = .bool(true)
        return copy
    }
}
