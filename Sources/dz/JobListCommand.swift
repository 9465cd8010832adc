import ArgumentParser
import DZClient
import DZSpool
import DZStore

struct JobListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List jobs, newest first.",
        discussion: "From what the coordinator publishes in the spool (state/jobs/), on any host.")

    @OptionGroup var options: SpoolOptions

    @Option(name: .long, help: ArgumentHelp("Only jobs in this state: running, succeeded, failed, cancelled.", valueName: "state"))
    var state: String?

    @Option(name: .long, help: ArgumentHelp("At most this many jobs.", valueName: "n"))
    var limit: Int = 50

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    func validate() throws {
        if let state, JobRecord.State(rawValue: state) == nil {
            throw ValidationError("--state: one of \(JobRecord.State.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard limit >= 1 else { throw ValidationError("--limit must be 1 or more") }
    }

    func run() throws {
        let client = try options.client()
        let jobs = client.state.jobs(state: state.flatMap(JobRecord.State.init(rawValue:)), limit: limit).map(\.job)
        if json {
            print(JSONValue.array(jobs.map { .object($0.jsonObject) }).jsonText)
            return
        }
        var rows = [["JOB", "KIND", "PROJECT", "STATE", "ISSUED", "ERROR"]]
        for job in jobs {
            rows.append([job.id, job.kind, job.project ?? "-", job.state.rawValue + (job.state == .running ? job.stopping.map { "(\($0.rawValue))" } ?? "" : ""),
                         job.issuedAt.rfc3339.prefix(19).description, String((job.error ?? "").prefix(60))])
        }
        printTable(rows)
    }
}
