import ArgumentParser
import DZClient
import DZAgent
import DZJobs
import DZSpool
import DZSystem
import DZTasks
@preconcurrency import Glibc

struct ManageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "manage",
        abstract: "Run a management command (or, with --shell, Python from standard input) on a running instance.",
        discussion: """
            Submits a manage job: the command runs on one of the project's running instances, as the app's user, \
            in its sandbox and environment, never through a shell. Prints the end of its standard output and \
            error (the last 32 KiB of each) and exits with its status: 0-255 as the command exited, 128+N when \
            signal N killed it, 75 when it ran out of time; a failure of dz's own (no such project or instance, \
            no agent, bad arguments) exits 1 or 64 with a message.
            """)

    @OptionGroup var options: SpoolOptions

    @Option(name: .long, help: ArgumentHelp("The project id.", valueName: "project"))
    var project: String

    @Option(name: .long, help: ArgumentHelp("The running instance to use (default: the project's first).",
                                            valueName: "instance"))
    var instance: String?

    @Option(name: .long, help: ArgumentHelp("The job's time limit in seconds, 10 to 86400 (default 3600); the "
                                            + "command gets a little less.", valueName: "seconds"))
    var timeout: Int?

    @Flag(name: .long, help: "Run the Python source read from standard input (at most 256 KiB), Django set up.")
    var shell = false

    @Argument(parsing: .postTerminator, help: ArgumentHelp("manage.py's arguments, after --.", valueName: "args"))
    var arguments: [String] = []

    func validate() throws {
        guard ProjectID.isValid(project) else {
            throw ValidationError("invalid project id \"\(project)\": use [a-z][a-z0-9_]*, at most 30 characters")
        }
        if let instance, !TaskID.isValid(instance) {
            throw ValidationError("invalid instance id \"\(instance)\": instance ids are [A-Za-z0-9._-]")
        }
        if let timeout, !(10...86_400).contains(timeout) { throw ValidationError("--timeout must be from 10 to 86400") }
        switch (shell, arguments.isEmpty) {
        case (true, false): throw ValidationError("give --shell or manage.py's arguments after --, not both")
        case (false, true): throw ValidationError("give manage.py's arguments after -- (dz manage --project P -- check)")
        default: break
        }
        if !shell {
            do { _ = try ManagePyTask.command(["argv": .array(arguments.map { .string($0) })]) } catch {
                throw ValidationError(error.message)
            }
        }
    }

    func run() async throws {
        let client = try options.client()
        var params: [String: JSONValue] = [:]
        if shell {
            let source = try readScript()
            params["script"] = .string(source)
        } else {
            params["argv"] = .array(arguments.map { .string($0) })
        }
        if let instance { params["instance"] = .string(instance) }
        if let timeout { params["timeout_s"] = .int(Int64(timeout)) }
        let id = try reportingClientErrors { () throws(ClientError) in
            try client.requests.submit("manage", project: project, params: params)
        }
        let document = try await Follow.ended(id, client, quiet: true)
        let job = document.job
        let output = document.steps.first { $0.definition == "managepy" }?.output ?? [:]
        if let text = output["stdout"]?.stringValue, !text.isEmpty {
            print(text, terminator: text.hasSuffix("\n") ? "" : "\n")
            fflush(nil)
        }
        if let text = output["stderr"]?.stringValue, !text.isEmpty {
            fputs(text.hasSuffix("\n") ? text : text + "\n", stderr)
        }
        if output["truncated"] == .bool(true) {
            complain("the output was longer: only the last 32 KiB of each stream are shown (job \(id))")
        }
        if job.state == .succeeded { return }
        // A command that exited 0 in a job that failed all the same (its output could not be recorded) is dz's
        // failure, not the command's.
        if let status = ManageJob.commandStatus(output), status != 0 {
            throw ExitCode(status)
        }
        complain("job \(id) \(job.state.rawValue)" + (job.error.map { ": \($0)" } ?? ""))
        throw output["ending"] == .string("timed-out") ? ExitStatus.temporaryFailure : ExitStatus.notFound
    }

    /// Standard input, up to the script limit.
    private func readScript() throws -> String {
        let limit = ManagePyTask.maxScriptBytes
        let bytes: [UInt8]
        do { bytes = try FileIO.readStandardInput(limit: limit) } catch {
            complain("cannot read standard input: \(error)")
            throw ExitStatus.systemFailure
        }
        guard bytes.count <= limit else {
            complain("the script on standard input is over \(limit) bytes")
            throw ExitStatus.badInput
        }
        guard !bytes.contains(0), let source = String(validating: bytes, as: UTF8.self) else {
            complain("the script on standard input is not UTF-8 text")
            throw ExitStatus.badInput
        }
        return source
    }
}
