import ArgumentParser
import DZClient
import DZSpool
import DZStore

/// `--no-wait`, and the submit-then-follow every job command does.
struct WaitOption: ParsableArguments {
    @Flag(name: .customLong("no-wait"), help: "Print the job id and return at once.")
    var noWait = false

    /// Submits the job, prints its id and `what`, then follows it unless --no-wait. Returns the finished job's
    /// result, or nil with --no-wait; exits 1 when the job fails.
    func submit(_ kind: String, project: String?, params: [String: JSONValue], what: String,
                options: SpoolOptions) async throws -> JobResult?
    {
        let client = try options.client()
        let id = try reportingClientErrors { () throws(ClientError) in
            try client.requests.submit(kind, project: project, params: params)
        }
        print("job \(id): \(what)")
        guard !noWait else { return nil }
        let document = try await Follow.succeeded(id, client)
        return JobResult(result: document.job.result ?? [:])
    }
}
