import ArgumentParser
import DZClient

/// What `git init` bakes into a repository's hook and `git post-receive` reads back: the project, the branch a
/// push to which deploys, and the other parameters of each push's job. Checked as `PushRepository` checks them.
struct PushOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The project id.", valueName: "project"))
    var project: String

    @Option(name: .long, help: ArgumentHelp("The branch a push to which deploys (default: main).", valueName: "branch"))
    var branch = "main"

    @Option(name: .customLong("param"), help: ArgumentHelp("A build_and_deploy parameter every push's job gets, such as db_engine=postgresql or hostnames=www.example.com (repeatable).", valueName: "key=value"))
    var params: [String] = []

    func validate() throws {
        do { _ = try PushRepository(project: project, repositories: "/", branch: branch, parameters: params) } catch {
            throw ValidationError(error.description)
        }
    }
}
