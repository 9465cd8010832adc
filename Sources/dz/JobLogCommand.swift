import ArgumentParser
import DZSpool
import DZStore

struct JobLogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "log", abstract: "Print a job's log; -f follows it.")

    @OptionGroup var options: SpoolOptions
    @OptionGroup var database: DatabaseOptions

    @Argument(help: ArgumentHelp("The job id.", valueName: "id"))
    var id: String

    @Flag(name: .shortAndLong, help: "Keep printing new lines until the job ends.")
    var follow = false

    func run() async throws {
        let spool = try options.makeSpool()
        let db = try database.openLocal(spool: spool)
        guard try db.job(id) != nil else {
            complain("no job \(id)")
            throw ExitStatus.notFound
        }
        var last: Int64 = 0
        while true {
            for line in try db.logLines(of: id, after: last) {
                print("\(line.time.rfc3339) \(line.level.rawValue) \(line.message)")
                last = line.id
            }
            guard follow, let job = try db.job(id), !job.state.isFinal else { return }
            try await Task.sleep(nanoseconds: 250_000_000)
        }
    }
}
