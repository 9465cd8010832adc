import ArgumentParser
import DZClient
import DZSpool
import DZStore

/// What `config set` and `config unset` share: the project, and how the change goes live.
struct ConfigChangeOptions: ParsableArguments {
    @OptionGroup var options: SpoolOptions
    @OptionGroup var project: ProjectOption
    @OptionGroup var wait: WaitOption

    @Flag(name: .customLong("no-restart"), help: "Only store the change; the next release puts it live.")
    var noRestart = false

    /// Sends the change to the coordinator through the spool (from any host), then says what it came to: the new
    /// config version, and unless --no-restart the config job that puts it live, followed to its end.
    func apply(set: [String: String], unset: [String]) async throws {
        let client = try options.client()
        let id = try reportingClientErrors { () throws(ClientError) in
            try client.requests.configure(project: project.project, set: set, unset: unset, restart: !noRestart)
        }
        guard !wait.noWait else {
            print("job \(id): config of \(project.project) (the change is recorded when the coordinator takes it)")
            return
        }
        let recorded: JobDocument
        do { recorded = try await client.waiter(id).published() } catch let error as ClientError {
            complain(error.description)
            throw ExitStatus.code(for: error)
        }
        let job = recorded.job
        let version = job.params["config_version"]?.intValue ?? job.result?["config_version"]?.intValue
        let change = job.params["change"]?.stringValue ?? ""
        if job.state == .failed {
            complain(job.error ?? "the change was refused")
            throw ExitStatus.usage
        }
        if job.result?["changed"] == .bool(false) {
            print("nothing changed (config version \(version ?? 0))")
            return
        }
        print("config version \(version ?? 0): \(change)")
        if job.state.isFinal {
            print("stored; the next deploy, rollback or `dz config` change puts it live")
            return
        }
        print("job \(id): config of \(project.project)")
        let document = try await Follow.succeeded(id, client)
        JobResult(result: document.job.result ?? [:]).printURLs()
    }
}
