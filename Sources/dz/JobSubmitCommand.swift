import ArgumentParser
import DZClient
import DZJobs
import DZSpool
import Foundation
@preconcurrency import Glibc

struct JobSubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Submit a job (through the spool's jobs queue) and print its id.")

    @OptionGroup var options: SpoolOptions

    @Argument(help: ArgumentHelp("The job kind (selftest, ...).", valueName: "kind"))
    var kind: String

    @Option(name: .long, help: ArgumentHelp("The project id: [a-z][a-z0-9_]*, at most 30 characters.", valueName: "project"))
    var project: String?

    @Option(name: .customLong("param"), help: ArgumentHelp("A job parameter (repeatable).", valueName: "key=value"))
    var params: [String] = []

    @Flag(name: .long, help: "Wait for the job to end, showing progress; exit as `dz job wait` does.")
    var wait = false

    func validate() throws {
        guard let jobKind = JobCatalog.standard.kind(kind) else {
            throw ValidationError("unknown job kind \"\(kind)\": dz knows \(JobCatalog.standard.names.joined(separator: ", "))")
        }
        if jobKind.needsProject, project == nil { throw ValidationError("\(kind) needs --project") }
        let given = Set(params.map { String($0.split(separator: "=", maxSplits: 1)[0]) })
        for required in jobKind.requiredParams where !given.contains(required) {
            throw ValidationError("\(kind) needs --param \(required)=...")
        }
        if let project, !ProjectID.isValid(project) {
            throw ValidationError("invalid project id \"\(project)\": use [a-z][a-z0-9_]*, at most 30 characters")
        }
        for param in params where !param.contains("=") { throw ValidationError("--param \"\(param)\": use key=value") }
    }

    func run() async throws {
        let client = try options.client()
        var values: [String: JSONValue] = [:]
        for param in params {
            let parts = param.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            values[String(parts[0])] = .string(String(parts[1]))
        }
        let id = try reportingClientErrors { () throws(ClientError) in
            try client.requests.submit(kind, project: project, params: values)
        }
        print(id)
        if wait { _ = try await Follow.succeeded(id, client) }
    }
}
