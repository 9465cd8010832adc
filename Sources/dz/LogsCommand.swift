import ArgumentParser
import DZClient
import DZJobs
import DZSpool
import DZSystem
import UnixSignals
@preconcurrency import Glibc

struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Show the end of a project's logs: its instances' gunicorn logs and its site's nginx access log.",
        discussion: """
            Submits a logs job (read_logs on each appserver running an instance of the project, and on the proxy) \
            and prints each file's last lines, each prefixed by its source: `<appserver>/<instance> error | ` (the \
            app's output and gunicorn's messages), `<appserver>/<instance> access | `, `proxy/<project> access | `. \
            With --instance, only that instance's two logs. With -f, asks again every --interval for the lines \
            written since, until SIGINT or SIGTERM. A host that does not answer within --timeout is named on \
            standard error and the others' lines are shown. Exit 0; 1 when the job failed (an unknown instance) or \
            found no log at all; 75 when a job did not finish within --timeout.
            """)

    @OptionGroup var options: SpoolOptions

    @Option(name: .long, help: ArgumentHelp("The project id.", valueName: "project"))
    var project: String

    @Option(name: .long, help: ArgumentHelp("Only this instance's logs (without the site's access log).", valueName: "id"))
    var instance: String?

    @Option(name: [.customShort("n"), .customLong("lines")],
            help: ArgumentHelp("How many of the last lines to show in all, shared among the files, 1 to 1000.",
                              valueName: "n"))
    var lines = 100

    @Flag(name: [.customShort("f"), .customLong("follow")], help: "Keep showing new lines until interrupted.")
    var follow = false

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("How often -f asks for new lines.", valueName: "duration"))
    var interval = "2s"

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("How long to wait for each logs job.", valueName: "duration"))
    var timeout = "30s"

    func validate() throws {
        guard ProjectID.isValid(project) else {
            throw ValidationError("invalid project id \"\(project)\": use [a-z][a-z0-9_]*, at most 30 characters")
        }
        if let instance, !TaskID.isValid(instance) {
            throw ValidationError("invalid instance id \"\(instance)\": use [A-Za-z0-9._-]")
        }
        guard (1...1000).contains(lines) else { throw ValidationError("-n must be from 1 to 1000") }
        _ = try duration(interval, "--interval", in: 0.2...3600)
        _ = try duration(timeout, "--timeout", in: 0.001...86400)
    }

    func run() async throws {
        let client = try options.client()
        let reader = LogsReader(requests: client.requests, state: client.state, project: project, instance: instance,
                                lines: lines, timeout: try duration(timeout, "--timeout", in: 0.001...86400))
        guard follow else {
            let report = try await Self.read(reader, since: [:]).limited(toLines: lines)
            Self.show(report, following: false)
            if !report.complete { throw ExitStatus.temporaryFailure }
            if report.files.isEmpty, report.unanswered.isEmpty {
                complain("no logs of \(project): no instance and no site log")
                throw ExitStatus.notFound
            }
            return
        }
        let pause = try duration(interval, "--interval", in: 0.2...3600)
        let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in signals { return }
            }
            group.addTask {
                var positions: [String: LogsReport.Position] = [:]
                var first = true
                while true {
                    do {
                        let read = try await Self.read(reader, since: positions)
                        // The first round shows -n lines in all; later ones every line written since.
                        Self.show(first ? read.limited(toLines: lines) : read, following: !first)
                        let report = read
                        positions = report.positions(after: positions)
                        first = false
                    } catch is CancellationError {
                        throw CancellationError()
                    } catch {
                        // A later round that failed or timed out was reported; the next one may do better.
                        if first { throw error }
                    }
                    try await Task.sleep(seconds: pause)
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// One round; a job that failed or could not be followed is said on standard error and exits as dz(1) says.
    private static func read(_ reader: LogsReader, since positions: [String: LogsReport.Position]) async throws
        -> LogsReport
    {
        do { return try await reader.read(since: positions) } catch let error as ClientError {
            complain(error.description)
            throw ExitStatus.code(for: error)
        }
    }

    /// Prints the report's lines; what could not be read goes to standard error.
    private static func show(_ report: LogsReport, following: Bool) {
        for file in report.files {
            if let error = file.error {
                if !following { complain("\(file.label): \(error)") }
                continue
            }
            if file.restarted { complain("\(file.label): the log was truncated or rotated: reading it from its start") }
            if following, file.skippedBytes > 0 { complain("\(file.label): \(file.skippedBytes) bytes skipped") }
            for line in file.lines { print(file.label + " | " + line) }
        }
        for queue in report.unanswered { complain("no answer from \(queue): its logs are left out") }
        if !following {
            for instance in report.missing { complain("instance \(instance) is gone from its appserver") }
        }
        fflush(nil)
    }
}
