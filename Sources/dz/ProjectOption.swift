import ArgumentParser
import DZSpool

/// `--project P`, checked.
struct ProjectOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The project id.", valueName: "project"))
    var project: String

    func validate() throws {
        guard ProjectID.isValid(project) else {
            throw ValidationError("invalid project id \"\(project)\": use [a-z][a-z0-9_]*, at most 30 characters")
        }
    }
}
