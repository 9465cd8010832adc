import ArgumentParser
import DZSpool

struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Show the audit lines of a task or job from every host, and where its files are now.")

    @OptionGroup var options: SpoolOptions

    @Argument(help: ArgumentHelp("A task id or job id.", valueName: "id"))
    var id: String

    func run() throws {
        let spool = try options.makeSpool()
        let history = spool.history(of: id)
        if history.lines.isEmpty && history.locations.isEmpty {
            complain("nothing is known of \(id)")
            throw ExitStatus.notFound
        }
        for line in history.lines { print(line) }
        if !history.locations.isEmpty {
            print("")
            for location in history.locations { print("now: \(location)") }
        }
    }
}
