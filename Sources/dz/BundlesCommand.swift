import ArgumentParser

struct BundlesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundles", abstract: "List a project's stored bundles and delete those not in use.",
        subcommands: [BundlesListCommand.self, BundlesDeleteCommand.self])
}
