import ArgumentParser
import DZClient
import DZSpool
import DZTasks

/// What every `dz certs` command shares: the spool, the proxy's queue, the wait; and the send-and-wait itself.
struct CertsOptions: ParsableArguments {
    @OptionGroup var spool: SpoolOptions

    @Option(name: .long, help: ArgumentHelp("The proxy's queue.", valueName: "queue"))
    var queue: String = "proxy"

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("How long to wait for the proxy's answer.", valueName: "duration"))
    var timeout: String = "10m"

    func validate() throws {
        guard QueueName.isValid(queue), QueueName.problemAsTaskQueue(queue, replyTo: "certs") == nil else {
            throw ValidationError("--queue \(queue) is not a task queue")
        }
        _ = try duration(timeout, "--timeout", in: 1...86_400)
    }

    /// Sends `task` to the proxy, waits for its result, prints its outcome; exits 1 when it failed.
    func run(_ task: String, args: [String: JSONValue], describe: ([String: JSONValue]) -> String) async throws {
        let seconds = try duration(timeout, "--timeout", in: 1...86_400)
        let request = ProxyTaskRequest(spool: try spool.makeSpool(),
                                       queue: try reportingErrors { () throws(SpoolError) in try QueueName(queue) })
        let result = try await reportingClientErrorsAsync { () async throws(ClientError) in
            let id = try request.send(task, args: args, timeoutSeconds: seconds)
            return try await request.wait(for: id, timeout: seconds)
        }
        guard result.status == .ok else {
            complain("\(task) failed: \(result.error.map { "\($0.kind): \($0.message)" } ?? "\(result.status)")")
            throw ExitStatus.notFound
        }
        print(describe(result.output))
    }
}

/// Runs `body`, turning a `ClientError` into its message and exit code.
func reportingClientErrorsAsync<T>(_ body: () async throws(ClientError) -> T) async throws -> T {
    do {
        return try await body()
    } catch {
        complain(error.description)
        throw ExitStatus.code(for: error)
    }
}

/// How a certificate task's output reads: where it serves and until when.
func certificateSummary(_ json: [String: JSONValue]) -> String {
    let output = (try? InstallCertTask.Output(json: json))
        ?? InstallCertTask.Output(project: "", hostnames: [], notAfter: "?", certificates: [], acme: false)
    var lines = ["certificate for \(output.hostnames.joined(separator: ", ")) installed (valid until \(output.notAfter))"]
    if output.siteUpdated {
        lines += output.urls
    } else {
        lines.append("the project has no site on the proxy yet: its next deploy serves the certificate")
    }
    return lines.joined(separator: "\n")
}
