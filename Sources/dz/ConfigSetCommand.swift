import ArgumentParser
import DZSpool
import DZWork

struct ConfigSetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Set environment variables of the app and restart it with them (a new release).",
        discussion: """
            Names are [A-Z_][A-Z0-9_]*; the ones dz sets (DJANGO_SETTINGS_MODULE, PATH, DZ_*, ...) and the ones \
            the C library reads (LD_*, ...) are refused; values hold no newline or NUL. The values go straight \
            into the zoomdb; the config job that puts them live names only the variables. Exit 0 when the job \
            succeeded (or nothing changed), 1 when it failed, 64 on a bad name.
            """)

    @OptionGroup var options: SpoolOptions
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var project: ProjectOption
    @OptionGroup var wait: WaitOption

    @Flag(name: .customLong("no-restart"), help: "Only store the change; the next release puts it live.")
    var noRestart = false

    @Argument(help: ArgumentHelp("Variables to set.", valueName: "NAME=VALUE"))
    var assignments: [String]

    func validate() throws {
        guard !assignments.isEmpty else { throw ValidationError("give at least one NAME=VALUE") }
        _ = try variables()
    }

    func variables() throws -> [String: String] {
        var object: [String: JSONValue] = [:]
        for assignment in assignments {
            guard let equals = assignment.firstIndex(of: "=") else {
                throw ValidationError("\"\(assignment.prefix(60))\": use NAME=VALUE")
            }
            object[String(assignment[..<equals])] = .string(String(assignment[assignment.index(after: equals)...]))
        }
        do { return try RuntimeEnvironment.extra(.object(object)) } catch { throw ValidationError(error.message) }
    }

    func run() async throws {
        let db = try database.open(spool: try options.makeSpool())
        let set = try variables()
        let before = try db.configVersion(of: project.project)
        let version = try db.changeEnvironment(of: project.project, set: set, unset: [])
        guard version != before else {
            print("nothing changed (config version \(version))")
            return
        }
        print("config version \(version): set \(set.keys.sorted().joined(separator: ", "))")
        try await ConfigSetCommand.apply(project: project.project, change: "set " + set.keys.sorted().joined(separator: ", "),
                                         noRestart: noRestart, wait: wait, options: options, database: database)
    }

    /// Submits the config job that puts the stored environment live, unless `noRestart`.
    static func apply(project: String, change: String, noRestart: Bool, wait: WaitOption, options: SpoolOptions,
                      database: DatabaseOptions) async throws
    {
        guard !noRestart else {
            print("stored; the next deploy, rollback or `dz config` change puts it live")
            return
        }
        guard let job = try await wait.submit("config", project: project, params: ["change": .string(change)],
                                              what: "config of \(project)", options: options, database: database)
        else { return }
        job.printURLs()
    }
}
