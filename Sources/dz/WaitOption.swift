import ArgumentParser
import DZSpool

/// `--no-wait`, and the submit-then-follow every job command does.
struct WaitOption: ParsableArguments {
    @Flag(name: .customLong("no-wait"), help: "Print the job id and return at once.")
    var noWait = false

    /// Submits the job, prints its id and `what`, then follows it unless --no-wait. Returns the finished job, or
    /// nil with --no-wait; exits 1 when the job fails (see `JobWaiter`).
    func submit(_ kind: String, project: String?, params: [String: JSONValue], what: String,
                options: SpoolOptions, database: DatabaseOptions) async throws -> JobResult?
    {
        let spool = try options.makeSpool()
        let id = try JobSubmission.submit(kind, project: project, params: params, spool: spool)
        print("job \(id): \(what)")
        guard !noWait else { return nil }
        let job = try await JobWaiter(spool: spool, database: database, jobID: id).run()
        return JobResult(result: job.result ?? [:])
    }
}
