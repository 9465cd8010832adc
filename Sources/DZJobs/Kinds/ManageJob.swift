import DZSpool
import DZStore
import DZTasks

/// `manage`: runs one of an app's management commands (or a Python script) on one of its running instances:
/// a single `managepy` step on that instance's appserver queue, never retried.
///
/// Parameters: `argv` (manage.py's arguments: a JSON array of strings, or its text), or `script` (Python source);
/// optional `instance` (one of the project's running instances; default the first, oldest, of them) and `timeout_s`
/// (the task's time limit, default 3600; the command gets a little less, so that its output comes back when it
/// runs out of time).
///
/// The step's output lines go to the job's log (`stdout: ...`, `stderr: ...`). A command that does not exit 0
/// fails the step (kind `exit-status`, with the status in the message and in the output's `exit_code`) and so the
/// job; the output stays in the step's record either way. Result: the `managepy` output.
public enum ManageJob {
    static let defaultTimeout = 3600.0

    public static let kind: JobKind = {
        var kind = JobKind(
            name: "manage", summary: "run a management command or a Python script on one running instance",
            steps: [
                StepDefinition("managepy", task: "managepy", queue: .build, maxAttempts: 1,
                               timeoutSeconds: defaultTimeout)
                { context throws(JobError) in try arguments(context) }
                .routed { context throws(JobError) in
                    try DeploySteps.appserverQueue(try instance(context)["appserver"]?.stringValue)
                }
                .recording { job, step, db in try record(job, step, db) },
            ])
        kind.needsProject = true
        kind.facts = { job, db in try DeploySteps.facts(job, db, secrets: false) }
        return kind
    }()

    /// The running instance the command runs on: the `instance` parameter's, else the first.
    static func instance(_ context: JobContext) throws(JobError) -> [String: JSONValue] {
        let active = DeploySteps.active(context).filter { $0["appserver"]?.stringValue != nil }
        if let wanted = context.param("instance") {
            guard let found = active.first(where: { $0["instance"]?.stringValue == wanted }) else {
                throw .refused("\(context.project ?? "the project") has no running instance \(wanted.prefix(120))")
            }
            return found
        }
        guard let first = active.first else {
            throw .refused("\(context.project ?? "the project") has no running instance: deploy it first")
        }
        return first
    }

    static func arguments(_ context: JobContext) throws(JobError) -> [String: JSONValue] {
        guard let project = context.project else { throw .missingInput("manage needs --project") }
        guard let instance = try instance(context)["instance"]?.stringValue else {
            throw .missingOutput("an instance without an id")
        }
        let command: ManagePyTask.Command
        switch (context.params["argv"], context.params["script"]) {
        case (let argv?, nil):
            let items = try argumentList(argv)
            let strings = items.compactMap(\.stringValue)
            guard strings.count == items.count else {
                throw .invalidParameter("the argv parameter must be a JSON array of strings")
            }
            command = .arguments(strings)
        case (nil, .string(let script)?): command = .script(script)
        case (nil, _?): throw .invalidParameter("the script parameter must be a string")
        case (_?, _?): throw .invalidParameter("give the argv parameter or the script parameter, not both")
        case (nil, nil): throw .missingInput("manage needs the argv parameter (manage.py's arguments) or script")
        }
        return ManagePyTask.Arguments(
            project: try ReleaseSteps.projectID(project), instance: instance, command: command,
            timeoutSeconds: commandTimeout(taskTimeout: context.params["timeout_s"]?.doubleValue)).json
    }

    /// `argv` as given (an array), or parsed from its JSON text (`dz job submit --param argv='["check"]'`); the
    /// handler checks each argument.
    static func argumentList(_ value: JSONValue) throws(JobError) -> [JSONValue] {
        switch value {
        case .array(let items): return items
        case .string(let text):
            guard let parsed = try? JSONValue.parse(Array(text.utf8)), case .array(let items) = parsed else {
                throw .invalidParameter("the argv parameter must be a JSON array of strings, as [\"migrate\", \"--plan\"]")
            }
            return items
        default: throw .invalidParameter("the argv parameter must be a JSON array of strings")
        }
    }

    /// The command's time limit within the task's: some seconds less, so that the handler can stop the command
    /// (SIGTERM, then SIGKILL 3 s later) and report its output before the agent gives up on the task.
    static func commandTimeout(taskTimeout: Double?) -> Double {
        let task = taskTimeout.flatMap { $0 > 0 && $0.isFinite ? $0 : nil } ?? defaultTimeout
        return max(1, task >= 60 ? task - 15 : task * 0.6)
    }

    /// Writes the command's output to the job's log and fails the step unless the command exited 0.
    static func record(_ job: JobRecord, _ step: StepRecord, _ db: ZoomDB) throws {
        guard let output = try StepOutputs.read(ManagePyTask.self, step, job, db) else {
            throw StepFailure(kind: "exit-status", message: "the command on its instance reported no exit status")
        }
        for (text, stream, level) in [(output.stdout, "stdout", JobLogLine.Level.info), (output.stderr, "stderr", .warn)] {
            guard !text.isEmpty else { continue }
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            if lines.last?.isEmpty == true { lines.removeLast() }
            for line in lines { try db.log(job.id, level, stream + ": " + line) }
        }
        if output.truncated {
            try db.log(job.id, .warn, "the output was longer: only the last 32 KiB of each stream were kept")
        }
        let (command, instance) = (output.command, output.instance)
        switch (output.ending, output.exitCode) {
        case ("exited", 0?):
            try db.log(job.id, .info, "\(command) on \(instance) exited with status 0")
        case ("exited", let code?):
            throw StepFailure(kind: "exit-status", message: "\(command) on \(instance) exited with status \(code)")
        case ("signalled", _):
            let signal = output.signal.map(String.init) ?? "?"
            throw StepFailure(kind: "exit-status", message: "\(command) on \(instance) was killed by signal \(signal)")
        case ("timed-out", _):
            throw StepFailure(kind: "timeout", message: "\(command) on \(instance) ran past its time limit")
        default:
            throw StepFailure(kind: "exit-status", message: "\(command) on \(instance) reported no exit status")
        }
    }
}

extension ManageJob {
    /// How the command ended, from the `managepy` output, as a process exit status: its own status when it exited,
    /// 128 + the signal when a signal killed it (as shells report it), nil when it ran out of time or there is no
    /// output.
    public static func commandStatus(_ output: [String: JSONValue]) -> Int32? {
        switch output["ending"]?.stringValue {
        case "exited": output["exit_code"]?.intValue.map { Int32(truncatingIfNeeded: $0) }
        case "signalled": output["signal"]?.intValue.map { 128 + Int32(truncatingIfNeeded: $0) }
        default: nil
        }
    }
}
