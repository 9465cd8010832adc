import ArgumentParser

struct JobWaitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait",
        abstract: "Wait for a job to end, with live progress on a terminal.",
        discussion: """
            Follows what the coordinator publishes in the spool (state/jobs/<id>.json), so it works on any host \
            that sees the spool. Exit 0 when the job succeeded, 1 when it failed, was cancelled or is unknown, 75 \
            on --timeout.
            """)

    @OptionGroup var options: SpoolOptions

    @Argument(help: ArgumentHelp("The job id.", valueName: "id"))
    var id: String

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Give up after this long (exit 75).", valueName: "duration"))
    var timeout: String?

    func validate() throws { if let timeout { _ = try duration(timeout, "--timeout", in: 0...centurySeconds) } }

    func run() async throws {
        _ = try await Follow.succeeded(id, try options.client(),
                                       timeout: try timeout.map { try duration($0, "--timeout", in: 0...centurySeconds) })
    }
}
