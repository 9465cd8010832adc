import ArgumentParser
import DZSpool
import DZSystem
import DZWork

struct SendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send", abstract: "Drop a new task into a queue and print its id.")

    @OptionGroup var options: SpoolOptions

    @Argument(help: ArgumentHelp("The task name (noop, echo, sleep, fail, ...).", valueName: "task"))
    var task: String

    @Option(name: .long, help: ArgumentHelp("The queue.", valueName: "queue"))
    var queue: String = "build"

    @Option(name: .customLong("arg"), help: ArgumentHelp("An argument, as a string (repeatable).", valueName: "key=value"))
    var args: [String] = []

    @Option(name: .customLong("args-json"), help: ArgumentHelp("All arguments as one JSON object.", valueName: "json"))
    var argsJSON: String?

    @Option(name: .long, help: ArgumentHelp("The task id (default: a new unique one).", valueName: "id"))
    var id: String?

    @Option(name: .customLong("max-attempts"), help: ArgumentHelp("Attempts before the task fails for good.", valueName: "n"))
    var maxAttempts: Int = TaskFile.defaultMaxAttempts

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Backoff before the first retry; doubles each time.", valueName: "duration"))
    var backoff: String = "5s"

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("The task's time limit (default: the agent's).", valueName: "duration"))
    var timeout: String?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Do not start the task before this much time has passed.", valueName: "duration"))
    var delay: String?

    @Option(name: .customLong("reply-to"), help: ArgumentHelp("The queue for the result.", valueName: "queue"))
    var replyTo: String = "results"

    @Flag(name: .long, help: "Do not check the task name against the handlers this dz knows.")
    var anyTask = false

    func validate() throws {
        guard TaskLimits.attempts.contains(maxAttempts) else {
            throw ValidationError("--max-attempts must be from \(TaskLimits.attempts.lowerBound) to \(TaskLimits.attempts.upperBound)")
        }
        if let problem = QueueName.problemAsTaskQueue(queue, replyTo: replyTo) { throw ValidationError(problem) }
        if let timeout { _ = try duration(timeout, "--timeout", in: TaskLimits.timeoutSeconds) }
        _ = try duration(backoff, "--backoff", in: TaskLimits.backoffSeconds)
        if let delay { _ = try duration(delay, "--delay", in: 0...TaskLimits.maxDeferralSeconds) }
        for arg in args where !arg.contains("=") { throw ValidationError("--arg \"\(arg)\": use key=value") }
        if !anyTask, !WorkHandlers.names.contains(task) {
            throw ValidationError("unknown task \"\(task)\": this dz knows \(WorkHandlers.names.joined(separator: ", ")) (or pass --any-task)")
        }
    }

    func run() throws {
        let spool = try options.makeSpool()
        var arguments: [String: JSONValue] = [:]
        if let argsJSON {
            guard case .object(let object)? = try? JSONValue.parse(Array(argsJSON.utf8)) else {
                complain("--args-json must be a JSON object")
                throw ExitStatus.usage
            }
            arguments = object
        }
        for arg in args {
            let parts = arg.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            arguments[String(parts[0])] = .string(String(parts[1]))
        }
        let backoffSeconds = try duration(backoff, "--backoff", in: TaskLimits.backoffSeconds)
        let timeoutSeconds = try timeout.map { try duration($0, "--timeout", in: TaskLimits.timeoutSeconds) }
        let delaySeconds = try delay.map { try duration($0, "--delay", in: 0...TaskLimits.maxDeferralSeconds) }
        let id = try reportingErrors { () throws(SpoolError) in
            try self.id.map { text throws(SpoolError) in try TaskID(text) } ?? TaskID.generate(host: spool.host)
        }
        let queueName = try reportingErrors { () throws(SpoolError) in try QueueName(queue) }
        let reply = try reportingErrors { () throws(SpoolError) in try QueueName(replyTo) }
        let now = Timestamp.now()
        let file = TaskFile(id: id, task: task, args: arguments, maxAttempts: maxAttempts, backoffSeconds: backoffSeconds,
                            timeoutSeconds: timeoutSeconds, notBefore: delaySeconds.map { now + $0 }, created: now,
                            replyTo: reply)
        try reportingErrors { () throws(SpoolError) in try spool.drop(file, into: queueName) }
        print(id)
    }
}
