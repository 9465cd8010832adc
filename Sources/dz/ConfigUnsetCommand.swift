import ArgumentParser
import DZSpool

struct ConfigUnsetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unset",
        abstract: "Remove environment variables of the app and restart it without them (a new release).",
        discussion: "Exit 0 when the job succeeded (or nothing changed), 1 when it failed.")

    @OptionGroup var change: ConfigChangeOptions

    @Argument(help: ArgumentHelp("Variables to remove.", valueName: "NAME"))
    var names: [String]

    func validate() throws {
        guard !names.isEmpty else { throw ValidationError("give at least one NAME") }
    }

    func run() async throws {
        try await change.apply(set: [:], unset: names)
    }
}
