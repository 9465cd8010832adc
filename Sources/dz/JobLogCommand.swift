import ArgumentParser
import DZClient
import DZSpool
import DZStore

struct JobLogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log", abstract: "Print a job's log; -f follows it.",
        discussion: "From what the coordinator publishes in the spool, on any host. Exit 0, or 1 for an unknown job.")

    @OptionGroup var options: SpoolOptions

    @Argument(help: ArgumentHelp("The job id.", valueName: "id"))
    var id: String

    @Flag(name: .shortAndLong, help: "Keep printing new lines until the job ends.")
    var follow = false

    func run() async throws {
        let client = try options.client()
        guard try reportingClientErrors({ () throws(ClientError) in try client.state.job(id) }) != nil else {
            complain("no job \(id)")
            throw ExitStatus.notFound
        }
        var last: Int64 = 0
        while true {
            guard let document = try reportingClientErrors({ () throws(ClientError) in try client.state.job(id) })
            else { return }
            for line in document.log where line.id > last {
                print("\(line.time.rfc3339) \(line.level.rawValue) \(line.message)")
                last = line.id
            }
            guard follow, !document.job.state.isFinal else { return }
            try await Task.sleep(nanoseconds: 250_000_000)
        }
    }
}
