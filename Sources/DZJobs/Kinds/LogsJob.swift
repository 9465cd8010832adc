import DZSpool
import DZStore
import DZTasks

/// `logs`: the end of a project's logs, for `dz logs`. One `read_logs` task per appserver running an instance of the
/// project (its gunicorn error and access logs; only the instance given as the parameter `instance`, when given),
/// and one on the `proxy` queue for the site's nginx access log, unless `instance` is given (the site's log is
/// not one instance's). The steps run at once, each with a 30 s limit and 2 attempts; a step that fails is a
/// warning, so that the logs of the hosts that answered still come back.
///
/// Parameters: `instance` (an active instance of the project, else the job fails at once), `lines` (1 to 1000,
/// default 100) and `since` (file name to position, from a previous result: only newer lines come back; each task
/// gets the entries of its own files).
///
/// Result: `files` (every file read, each with the `queue` that read it; see `read_logs` in dz(1)), `missing`
/// (instances an appserver no longer has) and `unanswered` (queues whose step failed). A host whose agent is down
/// leaves its step waiting in its queue until the step's deadline: `partialResult` gives what the others returned.
public enum LogsJob {
    public static let kind: JobKind = {
        var kind = JobKind(
            name: "logs", summary: "the end of a project's logs: its instances' gunicorn logs, its site's access log",
            steps: [
                StepDefinition("read_instance_logs", task: "read_logs", queue: .build, maxAttempts: 2,
                               backoffSeconds: 1, timeoutSeconds: 30, failure: .warn)
                { context throws(JobError) in
                    guard let item = context.item?.objectValue, let instances = item["instances"]?.arrayValue else {
                        throw .missingInput("read_instance_logs needs an appserver and its instances")
                    }
                    let names = instances.compactMap(\.stringValue)
                    var args = try common(context) { name in names.contains { name.hasPrefix($0 + ".") } }
                    args.source = "instances"
                    args.instances = names
                    return args.json
                }
                .fannedOut { context throws(JobError) in DeploySteps.byAppserver(try selected(context)) }
                .routed { context throws(JobError) in
                    try DeploySteps.appserverQueue(context.item?["appserver"]?.stringValue)
                },
                StepDefinition("read_site_log", task: "read_logs", queue: .proxy, maxAttempts: 2,
                               backoffSeconds: 1, timeoutSeconds: 30, failure: .warn)
                { context throws(JobError) in
                    let site = "dz_" + (context.project ?? "") + ".access.log"
                    var args = try common(context) { $0 == site }
                    args.source = "site"
                    return args.json
                }
                .fannedOut { context in context.param("instance") == nil ? [.null] : [] },
            ]) { context in result(context) }
        kind.needsProject = true
        kind.facts = { job, db in try DeploySteps.facts(job, db, secrets: false) }
        return kind
    }()

    /// What a logs job has gathered so far, from its succeeded steps, as its result would say it (the queues still
    /// silent in `unanswered`): for a reader that stops waiting for a host that does not answer.
    public static func partialResult(_ job: JobRecord, steps: [StepRecord], facts: [String: JSONValue])
        -> [String: JSONValue]
    {
        result(JobPlanner(kind: kind).context(job, steps, facts: facts))
    }

    /// The project's active instances the job reads: all, or the one named by `instance`.
    static func selected(_ context: JobContext) throws(JobError) -> [[String: JSONValue]] {
        let active = DeploySteps.active(context)
        guard let wanted = context.param("instance") else { return active }
        let chosen = active.filter { $0["instance"]?.stringValue == wanted }
        guard !chosen.isEmpty else {
            throw .refused("project \(context.project ?? "?") has no active instance \(String(wanted.prefix(80)))"
                + (active.isEmpty ? " (it has none)" : ""))
        }
        return chosen
    }

    /// The arguments every task gets: `project`, `lines`, and the `since` entries `keep` picks.
    static func common(_ context: JobContext, keep: (String) -> Bool) throws(JobError) -> ReadLogsTask.Arguments {
        guard let project = context.project else { throw .missingInput("logs needs --project") }
        var args = ReadLogsTask.Arguments(project: try ReleaseSteps.projectID(project))
        if let text = context.param("lines") {
            guard let lines = Int(text), (1...ReadLogsTask.maxLines).contains(lines) else {
                throw .invalidParameter("lines must be a whole number from 1 to \(ReadLogsTask.maxLines), not "
                                        + String(text.prefix(40)))
            }
            args.lines = lines
        }
        switch context.params["since"] {
        case nil, .null?: break
        case .object(let positions)?:
            do { args.since = try ReadLogsTask.Arguments.positions(.object(positions.filter { keep($0.key) })) } catch {
                throw .invalidParameter(error.message)
            }
        case let other?: throw .invalidParameter("since must be an object of file names to positions, not \(other.typeName)")
        }
        return args
    }

    /// Every file the steps read, each with its queue; the instances no longer found; the queues that did not answer.
    static func result(_ context: JobContext) -> [String: JSONValue] {
        var files: [JSONValue] = []
        var missing: [JSONValue] = []
        var answered = Set<String>()
        for step in ["read_instance_logs", "read_site_log"] {
            for output in context.outputs(of: ReadLogsTask.self, step: step) {
                answered.insert(output.queue)
                for var file in output.files {
                    file.queue = output.queue
                    files.append(file.json)
                }
                missing += output.missing.map { .string($0) }
            }
        }
        var expected = DeploySteps.byAppserver((try? selected(context)) ?? [])
            .compactMap { $0["appserver"]?.stringValue.map { "appserver_" + $0 } }
        if context.param("instance") == nil { expected.append("proxy") }
        return ["files": .array(files), "missing": .array(missing),
                "unanswered": .array(expected.filter { !answered.contains($0) }.map { .string($0) })]
    }
}
