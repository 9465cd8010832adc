import DZAgent
import DZDeploy
import DZSpool
import DZSystem
import DZTasks
import Logging

/// `managepy` (queue `appserver_<id>`): runs one of the app's management commands, or a Python script, next to one
/// of its instances on this host, as the app's user, in its sandbox and with its runtime environment (see
/// `ManagePy`); never through a shell.
///
/// Arguments: `project`, `instance` (an instance of the project recorded on this host), and exactly one of `argv`
/// (an array of 1 to 256 strings, each at most 16 KiB and without NUL, 64 KiB in all: run as
/// `python -m django <argv>`, manage.py's commands) or `script` (Python source, at most 256 KiB, without NUL: Django
/// is set up, then the source is run from standard input, as `manage.py shell -c` would); optional `timeout_s` (the
/// command's time limit, 1 to 86400, default 3600).
///
/// A command that ran is a success of the task whatever its exit status: the status is data for the job to judge,
/// and the output stays with it (a failed task's output is not kept). Output: `exit_code` (null when it did not
/// exit), `ending` (`exited`, `signalled` or `timed-out`), `signal` (when signalled), `stdout` and `stderr` (the last
/// 32 KiB of each, secrets masked), `truncated` (whether the start of either was left out), `command` (what ran,
/// masked), `instance`. The task fails (not retryable) when the arguments are bad, the instance is unknown or
/// stopping, or the command cannot be started.
public struct ManagePyHandler: TaskHandler {
    public let name = "managepy"
    public let settings: AppServerSettings

    public init(settings: AppServerSettings) {
        self.settings = settings
    }

    /// Kept of each of standard output and error.
    public static let keptBytes = 32 * 1024

    public func run(_ context: TaskContext) async throws -> [String: JSONValue] {
        let args = try context.arguments(of: ManagePyTask.self)
        let run: ManagePy.Run
        let shown: String
        do {
            (run, shown) = try await execute(args.command, args.project, args.instance, timeout: args.timeoutSeconds,
                                             context.logger)
        } catch {
            throw error.taskFailure
        }
        if run.ending == .cancelled { throw CancellationError() }
        var output = ManagePyTask.Output(instance: args.instance, command: shown, ending: "timed-out",
                                         stdout: run.stdout, stderr: run.stderr, truncated: run.truncated)
        switch run.ending {
        case .exited(let code):
            output.ending = "exited"
            output.exitCode = Int(code)
        case .signalled(let signal):
            output.ending = "signalled"
            output.signal = Int(signal)
        case .timedOut, .cancelled:
            break
        }
        return output.json
    }

    private func execute(_ command: ManagePyTask.Command, _ project: ProjectID, _ instance: String, timeout: Double,
                         _ logger: Logger) async throws(DeployError) -> (ManagePy.Run, String)
    {
        let runner = try ManagePy(settings: settings, project: project, instance: instance)
        guard runner.record.state != .stopping else { throw .unknownInstance(instance) }
        switch command {
        case .arguments(let arguments):
            let shown = Redaction.mask((["manage.py"] + arguments).joined(separator: " "), secrets: runner.secrets)
            let run = try await runner.run(runner.django(arguments), timeout: timeout, keep: Self.keptBytes,
                                           kind: "manage", logger: logger)
            return (run, String(shown.prefix(1000)))
        case .script(let source):
            let run = try await runner.run(runner.script, input: Array(source.utf8), timeout: timeout,
                                           keep: Self.keptBytes, kind: "manage", logger: logger)
            return (run, "manage.py shell (a script of \(source.utf8.count) bytes)")
        }
    }
}
