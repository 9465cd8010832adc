import ArgumentParser
import DZClient
import DZJobs
import DZSpool

struct UndeployCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "undeploy",
        abstract: "Take an app off line: remove its site, stop its instances, keep its database unless asked.",
        discussion: "Submits an undeploy job and waits for it. Exit 0 when it took the app off line, 1 when it failed or found nothing deployed.")

    @OptionGroup var options: SpoolOptions

    @Option(name: .long, help: ArgumentHelp("The project id.", valueName: "project"))
    var project: String

    @Flag(name: .customLong("drop-data"), help: "Drop the app's database and media too (both are kept by default).")
    var dropData = false

    @Flag(name: .customLong("no-wait"), help: "Print the job id and return at once.")
    var noWait = false

    func validate() throws {
        guard ProjectID.isValid(project) else {
            throw ValidationError("invalid project id \"\(project)\": use [a-z][a-z0-9_]*, at most 30 characters")
        }
    }

    func run() async throws {
        let client = try options.client()
        let params: [String: JSONValue] = dropData ? ["drop_data": .string("true")] : [:]
        let id = try reportingClientErrors { () throws(ClientError) in
            try client.requests.submit("undeploy", project: project, params: params)
        }
        print("job \(id): undeploy of \(project)")
        guard !noWait else { return }
        let result = JobResult(result: try await Follow.succeeded(id, client).job.result ?? [:])
        if let nothing = UndeployJob.nothingUndeployed(project: project, result: result.result) {
            complain(nothing)
            throw ExitStatus.notFound
        }
        print("stopped \(result.strings("stopped").count) instance(s)"
              + (result.result["database_dropped"] == .bool(true) ? "; database dropped" : "")
              + (result.strings("media_dropped").isEmpty ? "" : "; media removed"))
    }
}
