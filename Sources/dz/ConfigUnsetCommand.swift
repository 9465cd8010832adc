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
        let db = try change.open()
        let before = try db.configVersion(of: change.project.project)
        let present = try db.environment(of: change.project.project)
        let version = try db.changeEnvironment(of: change.project.project, set: [:], unset: names)
        guard version != before else {
            print("nothing changed: \(names.joined(separator: ", ")) not set (config version \(version))")
            return
        }
        let removed = names.filter { present[$0] != nil }
        print("config version \(version): unset \(removed.joined(separator: ", "))")
        try await change.apply(change: "unset " + removed.joined(separator: ", "))
    }
}
