import ArgumentParser

/// `dz`: the task system that builds and deploys Django projects. This executable only parses arguments and
/// calls the libraries; see dz(1).
@main
struct DZCommand: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "dz",
        abstract: "Build and deploy Django projects through a file spool of tasks.",
        discussion: """
            Exit status: 0 ok, 1 not found, 64 usage, 65 bad input, 69 unavailable, \
            75 temporary failure, 111 system failure. See dz(1) and dz-spool(5).
            """,
        version: version,
        subcommands: [
            InitCommand.self, SendCommand.self, DropCommand.self, AgentCommand.self, StatusCommand.self,
            RequeueCommand.self, HistoryCommand.self, GCCommand.self, BenchCommand.self, CoordinatorCommand.self,
            JobCommand.self, ProjectCommand.self, DeployCommand.self, UndeployCommand.self, ManageCommand.self, HostsCommand.self,
            ReleasesCommand.self, RollbackCommand.self, ConfigCommand.self, ScaleCommand.self, HostnamesCommand.self,
            RecoverCommand.self, BundlesCommand.self, LogsCommand.self, DoctorCommand.self, ReceiveCommand.self, GitCommand.self, CertsCommand.self,
        ]
    )
}
