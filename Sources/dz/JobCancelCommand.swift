import ArgumentParser
import DZClient
import DZJobs
import DZSpool

struct JobCancelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Cancel a job: no more steps start, running tasks are stopped, compensation steps run.",
        discussion: """
            Writes a durable tombstone, <spool>/cancel/<job-id>, that every agent checks before starting a task and \
            while it runs, and asks the coordinator (through the jobs queue) to stop dispatching and withdraw the \
            job's waiting tasks.
            """)

    @OptionGroup var options: SpoolOptions

    @Argument(help: ArgumentHelp("The job id.", valueName: "id"))
    var id: String

    @Option(name: .long, help: ArgumentHelp("Why, for the job's log.", valueName: "text"))
    var reason: String = "cancelled by request"

    func run() throws {
        let client = try options.client()
        try reportingClientErrors { () throws(ClientError) in try client.requests.cancel(id, reason: reason) }
        print("cancel requested for \(id)")
    }
}
