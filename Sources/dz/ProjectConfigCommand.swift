import ArgumentParser
import DZClient
import DZSource
import DZSpool
import DZStore
import DZWork

struct ProjectConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Print the zoombuild.cfg proposed from the project's last check_repo guesses.")

    @OptionGroup var options: SpoolOptions

    @Argument(help: ArgumentHelp("The project id.", valueName: "project"))
    var project: String

    @Flag(name: .long, help: "List every guess (field, value, primary, basis) instead.")
    var guesses = false

    func validate() throws {
        guard ProjectID.isValid(project) else {
            throw ValidationError("invalid project id \"\(project)\": use [a-z][a-z0-9_]*, at most 30 characters")
        }
    }

    func run() throws {
        let client = try options.client()
        let document = try reportingClientErrors { () throws(ClientError) in try client.state.project(project) }
        let stored = document?.guesses ?? []
        guard !stored.isEmpty else {
            complain("no guesses for project \(project): run `dz job submit check_repo --project \(project) --param source=URL`")
            throw ExitStatus.notFound
        }
        let all = stored.map { ConfigGuess(field: $0.field, value: $0.value, isPrimary: $0.isPrimary, basis: $0.basis) }
        if guesses {
            var rows = [["FIELD", "VALUE", "PRIMARY", "BASIS"]]
            for guess in all {
                rows.append([guess.field, guess.value.replacingNewlines(), guess.isPrimary ? "yes" : "no",
                             guess.basis.isEmpty ? "-" : guess.basis])
            }
            printTable(rows)
            return
        }
        var rejected: [ZoombuildConfig.RejectedGuess] = []
        var config = ZoombuildConfig(guesses: all, rejected: &rejected)
        if config.sourceCodeURL == nil, let url = document?.sourceURL {
            var candidate = config
            candidate.sourceCodeURL = url
            if (try? candidate.validate()) != nil { config = candidate }
        }
        print(config.rendered(leftOut: rejected), terminator: "")
    }
}

extension String {
    /// Newlines shown as ` | `, for one-line table cells.
    func replacingNewlines() -> String { split(separator: "\n").joined(separator: " | ") }
}
