import DZAgent
import DZDeploy
import DZSpool
import DZSystem
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

    /// What to run.
    public enum Command: Sendable, Equatable {
        case arguments([String])
        case script(String)
    }

    public static let maxArguments = 256
    public static let maxArgumentBytes = 16 * 1024
    public static let maxArgumentsBytes = 64 * 1024
    public static let maxScriptBytes = 256 * 1024
    /// Kept of each of standard output and error.
    public static let keptBytes = 32 * 1024

    public func run(_ context: TaskContext) async throws -> [String: JSONValue] {
        let project = try context.project()
        let instance = try context.instance()
        let command = try Self.command(context.args)
        let timeout = try context.number("timeout_s", default: 3600)
        guard (1...86_400).contains(timeout) else { throw TaskFailure.badArgs("timeout_s must be from 1 to 86400") }
        let run: ManagePy.Run
        let shown: String
        do {
            (run, shown) = try await execute(command, project, instance, timeout: timeout, context.logger)
        } catch {
            throw error.taskFailure
        }
        if run.ending == .cancelled { throw CancellationError() }
        var output: [String: JSONValue] = [
            "instance": .string(instance), "command": .string(shown), "truncated": .bool(run.truncated),
            "stdout": .string(run.stdout), "stderr": .string(run.stderr), "exit_code": .null,
        ]
        switch run.ending {
        case .exited(let code):
            output["ending"] = .string("exited")
            output["exit_code"] = .int(Int64(code))
        case .signalled(let signal):
            output["ending"] = .string("signalled")
            output["signal"] = .int(Int64(signal))
        case .timedOut, .cancelled:
            output["ending"] = .string("timed-out")
        }
        return output
    }

    private func execute(_ command: Command, _ project: ProjectID, _ instance: String, timeout: Double,
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

    /// The checked `argv` or `script` argument (`dz manage` checks its own arguments with it too).
    public static func command(_ args: [String: JSONValue]) throws(TaskFailure) -> Command {
        let argv = args["argv"].flatMap { $0 == .null ? nil : $0 }
        let script = args["script"].flatMap { $0 == .null ? nil : $0 }
        switch (argv, script) {
        case (nil, nil): throw .badArgs("give \"argv\" (manage.py's arguments) or \"script\" (Python source)")
        case (.some, .some): throw .badArgs("give \"argv\" or \"script\", not both")
        case (let argv?, nil):
            guard case .array(let items) = argv else {
                throw .badArgs("argument \"argv\" must be an array of strings, not \(argv.typeName)")
            }
            guard (1...maxArguments).contains(items.count) else {
                throw .badArgs("argv must hold 1 to \(maxArguments) arguments, not \(items.count)")
            }
            var arguments: [String] = []
            var total = 0
            for item in items {
                guard case .string(let text) = item else {
                    throw .badArgs("argv must be an array of strings, not one holding \(item.typeName)")
                }
                let bytes = text.utf8.count
                guard bytes <= maxArgumentBytes else {
                    throw .badArgs("an argument of argv is over \(maxArgumentBytes) bytes")
                }
                guard !text.utf8.contains(0) else { throw .badArgs("an argument of argv contains NUL") }
                total += bytes
                arguments.append(text)
            }
            guard total <= maxArgumentsBytes else { throw .badArgs("argv is over \(maxArgumentsBytes) bytes in all") }
            guard !arguments[0].isEmpty else { throw .badArgs("argv must start with a command name") }
            return .arguments(arguments)
        case (nil, let script?):
            guard case .string(let source) = script else {
                throw .badArgs("argument \"script\" must be a string, not \(script.typeName)")
            }
            guard source.utf8.count <= maxScriptBytes else {
                throw .badArgs("the script is over \(maxScriptBytes) bytes")
            }
            guard !source.utf8.contains(0) else { throw .badArgs("the script contains NUL") }
            return .script(source)
        }
    }
}
