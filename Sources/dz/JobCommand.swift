import ArgumentParser

struct JobCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job",
        abstract: "Submit, follow and cancel jobs.",
        subcommands: [JobSubmitCommand.self, JobListCommand.self, JobShowCommand.self, JobWaitCommand.self,
                      JobCancelCommand.self, JobLogCommand.self])
}
