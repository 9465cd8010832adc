import ArgumentParser
import DZSpool
import DZWork

struct ConfigSetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Set environment variables of the app and restart it with them (a new release).",
        discussion: """
            Names are [A-Z_][A-Z0-9_]*; the ones dz sets (DJANGO_SETTINGS_MODULE, PATH, DZ_*, ...) and the ones \
            the C library reads (LD_*, ...) are refused; values hold no newline or NUL. From any host: the values \
            travel in a request through the spool's jobs queue (mode 0600) until the coordinator has recorded \
            them in the zoomdb, which then rewrites the request without them; the config job that puts them \
            live names only the variables. Exit 0 when the job succeeded (or nothing changed), 1 when it \
            failed, 64 on a bad name.
            """)

    @OptionGroup var change: ConfigChangeOptions

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
        try await change.apply(set: try variables(), unset: [])
    }
}
