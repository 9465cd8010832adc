import ArgumentParser
import DZSpool

/// `--project P`, checked.
struct ProjectOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The project id.", valueName: "project"))
    var project: String

    func validate() throws {
        guard ProjectID.isValid(project) else {
            throw ValidationError("invalid project id \"\(project)\": use [a-z][a-z0-9_]*, at most 30 characters")
        }
    }
}

/// `--no-wait`, and the submit-then-follow every job command does.
struct WaitOption: ParsableArguments {
    @Flag(name: .customLong("no-wait"), help: "Print the job id and return at once.")
    var noWait = false

    /// Submits the job, prints its id and `what`, then follows it unless --no-wait. Returns the finished job, or
    /// nil with --no-wait; exits 1 when the job fails (see `JobWaiter`).
    func submit(_ kind: String, project: String?, params: [String: JSONValue], what: String,
                options: SpoolOptions, database: DatabaseOptions) async throws -> JobRecordResult?
    {
        let spool = try options.makeSpool()
        let id = try JobSubmission.submit(kind, project: project, params: params, spool: spool)
        print("job \(id): \(what)")
        guard !noWait else { return nil }
        let job = try await JobWaiter(spool: spool, database: database, jobID: id).run()
        return JobRecordResult(result: job.result ?? [:])
    }
}

/// A finished job's result, with the lines most commands print.
struct JobRecordResult {
    var result: [String: JSONValue]

    func strings(_ key: String) -> [String] { (result[key]?.arrayValue ?? []).compactMap(\.stringValue) }

    /// The site's URLs, one a line.
    func printURLs() { for url in strings("urls") { print(url) } }
}
