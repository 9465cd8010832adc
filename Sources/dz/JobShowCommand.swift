import ArgumentParser
import DZJobs
import DZSpool
import DZStore
import DZSystem

struct JobShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show a job: its steps (state, host, attempt, timing, output) and its log.")

    @OptionGroup var options: SpoolOptions
    @OptionGroup var database: DatabaseOptions

    @Argument(help: ArgumentHelp("The job id.", valueName: "id"))
    var id: String

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    func run() throws {
        let spool = try options.makeSpool()
        let db = try database.openLocal(spool: spool)
        guard let job = try db.job(id) else {
            let pending = spool.isPending(id, in: .jobs)
            complain(pending ? "job \(id) is submitted; the coordinator has not taken it yet" : "no job \(id)")
            throw ExitStatus.notFound
        }
        let steps = try db.steps(of: id)
        let log = try db.logLines(of: id)
        if json {
            var object = job.jsonObject
            object["steps"] = .array(steps.map { .object($0.jsonObject) })
            if let timing = JobTiming(job, steps) { object["timing"] = .object(timing.jsonObject) }
            object["log"] = .array(log.map { .object(["ts": .string($0.time.rfc3339), "level": .string($0.level.rawValue),
                                                      "message": .string($0.message)]) })
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
        if let error = job.error { print("error    \(error)") }
        if let result = job.result {
            var shown = result
            for key in ["guesses", "warnings", "skipped", "zoombuild_cfg"] { shown[key] = nil }
            print("result   \(JSONValue.object(shown).jsonText)")
        }
        print("")
        var rows = [["STEP", "QUEUE", "TASK", "STATE", "HOST", "ATTEMPT", "TIME", "OUTPUT / ERROR"]]
        for step in steps {
            let time = zip(step.started, step.finished).map { "\(Int(((($1) - ($0)) * 1000).rounded()))ms" } ?? "-"
            let detail = step.state == .failed || step.state == .cancelled
                ? "\(step.errorKind ?? "error"): \(step.error ?? "")"
                : (step.output.map { JSONValue.object($0).jsonText } ?? "")
            rows.append([step.name + (step.compensation ? " (undo)" : ""), step.queue.isEmpty ? "-" : step.queue,
                         step.task, step.state.rawValue, step.host ?? "-",
                         step.attempt.map { "\($0)/\(step.maxAttempts)" } ?? "-", time, String(detail.prefix(80))])
        }
        printTable(rows)
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
        for line in log { print("\(line.time.rfc3339) \(line.level.rawValue) \(line.message)") }
    }
}

private func zip<A, B>(_ a: A?, _ b: B?) -> (A, B)? {
    guard let a, let b else { return nil }
    return (a, b)
}
