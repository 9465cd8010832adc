import ArgumentParser
import DZSpool

struct ConfigUnsetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unset",
        abstract: "Remove environment variables of the app and restart it without them (a new release).",
        discussion: "Exit 0 when the job succeeded (or nothing changed), 1 when it failed.")

    @OptionGroup var options: SpoolOptions
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var project: ProjectOption
    @OptionGroup var wait: WaitOption

    @Flag(name: .customLong("no-restart"), help: "Only store the change; the next release puts it live.")
    var noRestart = false

    @Argument(help: ArgumentHelp("Variables to remove.", valueName: "NAME"))
    var names: [String]

    func validate() throws {
        guard !names.isEmpty else { throw ValidationError("give at least one NAME") }
    }

    func run() async throws {
        let db = try database.open(spool: try options.makeSpool())
        let before = try db.configVersion(of: project.project)
        let present = try db.environment(of: project.project)
        let version = try db.changeEnvironment(of: project.project, set: [:], unset: names)
        guard version != before else {
            print("nothing changed: \(names.joined(separator: ", ")) not set (config version \(version))")
            return
        }
        let removed = names.filter { present[$0] != nil }
        print("config version \(version): unset \(removed.joined(separator: ", "))")
        try await ConfigSetCommand.apply(project: project.project, change: "unset " + removed.joined(separator: ", "),
                                         noRestart: noRestart, wait: wait, options: options, database: database)
    }
}
