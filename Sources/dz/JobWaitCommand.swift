import ArgumentParser

struct JobWaitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait",
        abstract: "Wait for a job to end, with live progress on a terminal.",
        discussion: "Exit 0 when the job succeeded, 1 when it failed, was cancelled or is unknown, 75 on --timeout.")

    @OptionGroup var options: SpoolOptions
    @OptionGroup var database: DatabaseOptions

    @Argument(help: ArgumentHelp("The job id.", valueName: "id"))
    var id: String

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Give up after this long (exit 75).", valueName: "duration"))
    var timeout: String?

    func validate() throws { if let timeout { _ = try duration(timeout, "--timeout", in: 0...centurySeconds) } }

    func run() async throws {
        var waiter = JobWaiter(spool: try options.makeSpool(), database: database, jobID: id)
        waiter.timeout = try timeout.map { try duration($0, "--timeout", in: 0...centurySeconds) }
        try await waiter.run()
    }
}
