import ArgumentParser

struct ProjectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "project", abstract: "Look at projects.", subcommands: [ProjectConfigCommand.self])
}
