import ArgumentParser
import DZClient
import DZSpool

struct RollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Deploy an earlier release's bundle again, without building.",
        discussion: """
            Submits a rollback job and waits for it: the same health-checked switch as a deploy, then the \
            current instances are retired. The environment, host names and scale stay as they are. When the \
            database has migrations the target release does not know, the rollback is refused before any \
            traffic moves: reverse them first on the current release (dz manage --project P -- migrate APP \
            MIGRATION), or pass --allow-schema-mismatch. Exit 0 when it succeeded, 1 when it failed.
            """)

    @OptionGroup var options: SpoolOptions
    @OptionGroup var project: ProjectOption
    @OptionGroup var wait: WaitOption

    @Option(name: .long, help: ArgumentHelp(
        "The release number to go back to (default: the newest succeeded release before the current one with other code).",
        valueName: "release"))
    var to: Int?

    @Flag(name: .customLong("allow-schema-mismatch"),
          help: "Deploy even though the database has migrations the target release does not know.")
    var allowSchemaMismatch = false

    func validate() throws {
        if let to, to < 1 { throw ValidationError("--to must be a release number (1 or more)") }
    }

    func run() async throws {
        var params: [String: JSONValue] = [:]
        if let to { params["to"] = .int(Int64(to)) }
        if allowSchemaMismatch { params["allow_schema_mismatch"] = .string("true") }
        let what = "rollback of \(project.project)" + (to.map { " to release \($0)" } ?? "")
        guard let job = try await wait.submit("rollback", project: project.project, params: params, what: what,
                                              options: options) else { return }
        if let number = job.result["rolled_back_to"]?.intValue { print("rolled back to release \(number)") }
        job.printURLs()
    }
}
