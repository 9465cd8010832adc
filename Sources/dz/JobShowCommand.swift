import ArgumentParser
import DZClient
import DZJobs
import DZSpool
import DZStore
import DZSystem

struct JobShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show a job: its steps (state, host, attempt, timing, output) and its log.",
        discussion: "From what the coordinator publishes in the spool, on any host. Exit 0, or 1 for an unknown job.")

    @OptionGroup var options: SpoolOptions

    @Argument(help: ArgumentHelp("The job id.", valueName: "id"))
    var id: String

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    func run() throws {
        let client = try options.client()
        guard let document = try reportingClientErrors({ () throws(ClientError) in try client.state.job(id) }) else {
            let pending = client.spool.isPending(id, in: .jobs)
            complain(pending ? "job \(id) is submitted; the coordinator has not taken it yet" : "no job \(id)")
            throw ExitStatus.notFound
        }
        let job = document.job
        let steps = document.steps
        if json {
            var object = document.flatJSONObject
            if let timing = JobTiming(job, steps) { object["timing"] = .object(timing.jsonObject) }
            print(JSONValue.object(object).jsonText)
            return
        }
        print("job      \(job.id)")
        print("kind     \(job.kind)" + (job.project.map { "  project \($0)" } ?? ""))
        print("state    \(job.state.rawValue)" + (job.state == .running ? job.stopping.map { " (\($0.rawValue))" } ?? "" : ""))
        if !job.params.isEmpty { print("params   \(JSONValue.object(job.params).jsonText)") }
        print("issued   \(job.issuedAt.rfc3339)" + (job.issuedBy.map { " by \($0)" } ?? ""))
        if let timing = JobTiming(job, steps) {
            print("took     \(format1(timing.total))s: a step ran during \(format1(timing.busy))s (steps' sum "
                  + "\(format1(timing.stepsSum))s); queues and coordinator \(format1(timing.overhead))s")
        }
        let failures = StepTable.failures(steps)
        if let error = job.error {
            // A failed step's whole error follows the table: here its first line is enough.
            print("error    " + (failures.isEmpty
                ? error.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\n         ")
                : StepTable.oneLine(error)))
        }
        if let result = job.result {
            var shown = result
            for key in ["guesses", "warnings", "skipped", "zoombuild_cfg"] { shown[key] = nil }
            print("result   \(JSONValue.object(shown).jsonText)")
        }
        print("")
        printTable(StepTable.rows(steps))
        if !failures.isEmpty { print("\n" + failures, terminator: "") }
        if let guesses = job.result?["guesses"]?.arrayValue, !guesses.isEmpty {
            print("")
            var rows = [["GUESS", "VALUE", "PRIMARY", "BASIS"]]
            for guess in guesses.compactMap(\.objectValue) {
                rows.append([guess["field"]?.stringValue ?? "", (guess["value"]?.stringValue ?? "").replacingNewlines(),
                             guess["is_primary"] == .bool(true) ? "yes" : "no",
                             (guess["basis"]?.stringValue).flatMap { $0.isEmpty ? nil : $0 } ?? "-"])
            }
            printTable(rows)
        }
        for warning in job.result?["warnings"]?.arrayValue ?? [] {
            print("warning: \(warning.stringValue ?? "")")
        }
        print("")
        for line in document.log { print("\(line.time.rfc3339) \(line.level.rawValue) \(line.message)") }
    }
}
