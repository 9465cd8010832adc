import DZJSON
import DZSpool

/// `managepy` (queue `appserver_<id>`): run one of an app's management commands, or a Python script, beside one of
/// its instances. Planned by `ManageJob`, run by `ManagePyHandler`.
public enum ManagePyTask: TaskContract {
    public static let name = "managepy"

    public static let maxArguments = 256
    public static let maxArgumentBytes = 16 * 1024
    public static let maxArgumentsBytes = 64 * 1024
    public static let maxScriptBytes = 256 * 1024

    /// What to run: manage.py's arguments (`python -m django <argv>`), or Python source run with Django set up.
    public enum Command: Sendable, Equatable {
        case arguments([String])
        case script(String)
    }

    public struct Arguments: TaskMessage, Equatable {
        public var project: ProjectID
        /// An instance of the project recorded on the appserver.
        public var instance: String
        public var command: Command
        /// The command's time limit, 1 to 86,400 s.
        public var timeoutSeconds: Double

        public init(project: ProjectID, instance: String, command: Command, timeoutSeconds: Double = 3600) {
            self.project = project
            self.instance = instance
            self.command = command
            self.timeoutSeconds = timeoutSeconds
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            project = try read.project()
            instance = try read.instanceID()
            command = try ManagePyTask.command(object)
            timeoutSeconds = try read.number("timeout_s") ?? 3600
            guard (1...86_400).contains(timeoutSeconds) else {
                throw ContractViolation("timeout_s must be from 1 to 86400")
            }
        }

        public var json: [String: JSONValue] {
            var object: [String: JSONValue] = [
                "project": .string(project.rawValue), "instance": .string(instance),
                "timeout_s": .double(timeoutSeconds),
            ]
            switch command {
            case .arguments(let arguments): object["argv"] = .array(arguments.map { .string($0) })
            case .script(let source): object["script"] = .string(source)
            }
            return object
        }

        public static let keys = ["project", "instance", "argv", "script", "timeout_s"]
    }

    /// The checked `argv` or `script` of `object` (`dz manage` checks its own arguments with it too): exactly one;
    /// `argv` 1 to 256 strings, each at most 16 KiB and without NUL, 64 KiB in all, the first not empty; `script`
    /// at most 256 KiB, without NUL.
    public static func command(_ object: [String: JSONValue]) throws(ContractViolation) -> Command {
        let read = MessageReader(object)
        switch (read.value("argv"), read.value("script")) {
        case (nil, nil): throw ContractViolation("give \"argv\" (manage.py's arguments) or \"script\" (Python source)")
        case (.some, .some): throw ContractViolation("give \"argv\" or \"script\", not both")
        case (let argv?, nil):
            guard case .array(let items) = argv else {
                throw ContractViolation("argument \"argv\" must be an array of strings, not \(argv.typeName)")
            }
            guard (1...maxArguments).contains(items.count) else {
                throw ContractViolation("argv must hold 1 to \(maxArguments) arguments, not \(items.count)")
            }
            var arguments: [String] = []
            var total = 0
            for item in items {
                guard case .string(let text) = item else {
                    throw ContractViolation("argv must be an array of strings, not one holding \(item.typeName)")
                }
                let bytes = text.utf8.count
                guard bytes <= maxArgumentBytes else {
                    throw ContractViolation("an argument of argv is over \(maxArgumentBytes) bytes")
                }
                guard !text.utf8.contains(0) else { throw ContractViolation("an argument of argv contains NUL") }
                total += bytes
                arguments.append(text)
            }
            guard total <= maxArgumentsBytes else {
                throw ContractViolation("argv is over \(maxArgumentsBytes) bytes in all")
            }
            guard !arguments[0].isEmpty else { throw ContractViolation("argv must start with a command name") }
            return .arguments(arguments)
        case (nil, let script?):
            guard case .string(let source) = script else {
                throw ContractViolation("argument \"script\" must be a string, not \(script.typeName)")
            }
            guard source.utf8.count <= maxScriptBytes else {
                throw ContractViolation("the script is over \(maxScriptBytes) bytes")
            }
            guard !source.utf8.contains(0) else { throw ContractViolation("the script contains NUL") }
            return .script(source)
        }
    }

    /// What ran and how it ended. A command that ran is a success of the task whatever its exit status.
    public struct Output: TaskMessage, Equatable {
        public var instance: String
        /// What ran, secrets masked.
        public var command: String
        /// `exited`, `signalled` or `timed-out`.
        public var ending: String
        /// The exit status when it exited.
        public var exitCode: Int?
        /// The signal when it was killed by one.
        public var signal: Int?
        /// The last 32 KiB of each stream, secrets masked.
        public var stdout: String
        public var stderr: String
        /// Whether the start of either stream was left out.
        public var truncated: Bool

        public init(instance: String, command: String, ending: String, exitCode: Int? = nil, signal: Int? = nil,
                    stdout: String, stderr: String, truncated: Bool)
        {
            self.instance = instance
            self.command = command
            self.ending = ending
            self.exitCode = exitCode
            self.signal = signal
            self.stdout = stdout
            self.stderr = stderr
            self.truncated = truncated
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            instance = try read.optionalString("instance") ?? "?"
            command = try read.optionalString("command") ?? "the command"
            ending = try read.string("ending")
            exitCode = object["exit_code"]?.intValue.map(Int.init)
            signal = object["signal"]?.intValue.map(Int.init)
            stdout = try read.optionalString("stdout") ?? ""
            stderr = try read.optionalString("stderr") ?? ""
            truncated = try read.bool("truncated") ?? false
        }

        public var json: [String: JSONValue] {
            var object: [String: JSONValue] = [
                "instance": .string(instance), "command": .string(command), "ending": .string(ending),
                "exit_code": exitCode.map { .int(Int64($0)) } ?? .null, "stdout": .string(stdout),
                "stderr": .string(stderr), "truncated": .bool(truncated),
            ]
            if let signal { object["signal"] = .int(Int64(signal)) }
            return object
        }

        public static let keys = ["instance", "command", "ending", "exit_code", "signal", "stdout", "stderr",
                                  "truncated"]
    }
}
