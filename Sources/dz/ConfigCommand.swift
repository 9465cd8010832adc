import ArgumentParser

/// `dz config`: the app's environment, kept in the zoomdb.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Show, set or unset the app's environment variables.",
        discussion: """
            The environment is kept in the zoomdb (never in a task's audit line) and put live by a config job: \
            a new release of the current bundle whose instances start with it. See dz(1).
            """,
        subcommands: [ConfigShowCommand.self, ConfigSetCommand.self, ConfigUnsetCommand.self])
}
