import ArgumentParser
import DZSpool
import DZSystem
import DZWork

struct DropCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drop",
        abstract: "Check a prepared task file, then drop it atomically into a queue; print its id.",
        discussion: "A file without an \"id\" gets a new unique one. Bad input exits 65 and drops nothing.")

    @OptionGroup var options: SpoolOptions

    @Argument(help: ArgumentHelp("The queue.", valueName: "queue"))
    var queue: String

    @Argument(help: ArgumentHelp("The task file, or - for standard input.", valueName: "file"))
    var file: String

    @Flag(name: .long, help: "Do not check the task name against the handlers this dz knows.")
    var anyTask = false

    func run() throws {
        let spool = try options.makeSpool()
        let queueName = try reportingErrors { () throws(SpoolError) in try QueueName(queue) }
        if let problem = QueueName.problemAsTaskQueue(queue, replyTo: nil) {
            complain(problem)
            throw ExitStatus.usage
        }
        let bytes: [UInt8]
        do {
            bytes = file == "-" ? try FileIO.readAll("/dev/stdin") : try FileIO.readAll(file)
        } catch {
            complain("\(file): \(error.description)")
            throw error == .noSuchFileOrDirectory ? ExitStatus.notFound : ExitStatus.systemFailure
        }
        guard bytes.count <= TaskFile.maxSize else {
            complain("\(file): \(bytes.count) bytes, over the limit of \(TaskFile.maxSize)")
            throw ExitStatus.badInput
        }
        guard case .object(let object)? = try? JSONValue.parse(bytes) else {
            complain("\(file): not a JSON object")
            throw ExitStatus.badInput
        }
        let stem = object["id"]?.stringValue ?? TaskID.generate(host: spool.host).rawValue
        var task: TaskFile
        do { task = try TaskFile(object: object, stem: stem) } catch {
            complain("\(file): \(error.message)")
            throw ExitStatus.badInput
        }
        if !anyTask, !WorkHandlers.names.contains(task.task) {
            complain("\(file): unknown task \"\(task.task)\" (pass --any-task to drop it anyway)")
            throw ExitStatus.badInput
        }
        if let problem = QueueName.problemAsTaskQueue(queue, replyTo: task.replyTo.rawValue) {
            complain("\(file): \(problem)")
            throw ExitStatus.badInput
        }
        if task.created == nil { task.created = .now() }
        try reportingErrors { () throws(SpoolError) in try spool.drop(task, into: queueName) }
        print(task.id)
    }
}
