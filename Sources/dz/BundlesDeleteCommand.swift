import ArgumentParser
import DZClient
import DZSpool

struct BundlesDeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete stored bundles of a project that are not deployed.",
        discussion: """
            Submits a delete_versions job and waits for it. The job refuses, deleting nothing, when any bundle \
            named is deployed (an active instance runs it), belongs to another project or is not one of the \
            project's. Deleted bundles stay in `dz bundles list`, marked deleted. Exit 0 when they were deleted, \
            1 when the job failed.
            """)

    @OptionGroup var options: SpoolOptions

    @Option(name: .long, help: ArgumentHelp("The project id.", valueName: "project"))
    var project: String

    @Argument(help: ArgumentHelp(
        "The bundles to delete, by name as `dz bundles list` shows them, or by release (v3) as `dz releases` does.",
        valueName: "bundle|release"))
    var bundles: [String]

    @Flag(name: .customLong("no-wait"), help: "Print the job id and return at once.")
    var noWait = false

    func validate() throws {
        guard ProjectID.isValid(project) else {
            throw ValidationError("invalid project id \"\(project)\": use [a-z][a-z0-9_]*, at most 30 characters")
        }
        guard !bundles.isEmpty else { throw ValidationError("name at least one bundle") }
        for bundle in bundles where !TaskID.isValid(bundle) {
            throw ValidationError("\"\(bundle)\" is not a bundle name ([A-Za-z0-9._-]) or a release (v3)")
        }
    }

    func run() async throws {
        let client = try options.client()
        let params: [String: JSONValue] = ["bundles": .string(bundles.joined(separator: ","))]
        let id = try reportingClientErrors { () throws(ClientError) in
            try client.requests.submit("delete_versions", project: project, params: params)
        }
        print("job \(id): delete_versions of \(project)")
        guard !noWait else { return }
        let deleted = JobResult(result: try await Follow.succeeded(id, client).job.result ?? [:]).strings("deleted")
        for name in deleted { print("deleted \(name)") }
        print("\(deleted.count) bundle(s) deleted")
    }
}
