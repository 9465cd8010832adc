import ArgumentParser
import DZSpool
import DZStore

/// What `config set` and `config unset` share: where the zoomdb is, the project, and how the change goes live.
struct ConfigChangeOptions: ParsableArguments {
    @OptionGroup var options: SpoolOptions
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var project: ProjectOption
    @OptionGroup var wait: WaitOption

    @Flag(name: .customLong("no-restart"), help: "Only store the change; the next release puts it live.")
    var noRestart = false

    func open() throws -> ZoomDB {
        let spool = try options.makeSpool()
        guard let path = database.localPath(spool: spool) else {
            complain("no zoomdb on this host: run dz config on the coordinator's host")
            throw ExitStatus.unavailable
        }
        return try ZoomDB(path: path)
    }

    /// Submits the config job that puts the stored environment live, unless --no-restart.
    func apply(change: String) async throws {
        guard !noRestart else {
            print("stored; the next deploy, rollback or `dz config` change puts it live")
            return
        }
        guard let job = try await wait.submit("config", project: project.project, params: ["change": .string(change)],
                                              what: "config of \(project.project)", options: options,
                                              database: database)
        else { return }
        job.printURLs()
    }
}
