import ArgumentParser

struct GitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "git",
        abstract: "Deploy on git push: a bare repository per project whose hook deploys what is pushed.",
        subcommands: [GitInitCommand.self, GitPostReceiveCommand.self, GitShellCommand.self])
}
