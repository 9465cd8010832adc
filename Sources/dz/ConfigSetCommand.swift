import ArgumentParser
import DZSpool
import DZWork

struct ConfigSetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Set environment variables of the app and restart it with them (a new release).",
        discussion: """
            Secrets never go on the command line, where ps shows them to every local user and app while the \
            command runs: give a NAME alone and its value is read from standard input (typed at a prompt that \
            does not echo when standard input is a terminal), or --from-file NAME=FILE. NAME=VALUE is for \
            values that are not secret; a secret-looking NAME given so (PASS, SECRET, TOKEN, KEY, CREDENTIAL, \
            AUTH) gets a warning. A value read from standard input or a file loses one trailing newline. \
            Names are [A-Z_][A-Z0-9_]*; the ones dz sets (DJANGO_SETTINGS_MODULE, PATH, DZ_*, ...) and the ones \
            the C library reads (LD_*, ...) are refused; values hold no newline or NUL and are at most 64 KiB \
            when read. From any host: the values travel in a request through the spool's jobs queue (the \
            spool's group only) until the coordinator has recorded them in the zoomdb, which then rewrites the \
            request without them; the config job that puts them live names only the variables. Exit 0 when \
            the job succeeded (or nothing changed), 1 when it failed, 64 on a bad name, 65 on a value that \
            cannot be read or is not allowed.
            """)

    @OptionGroup var change: ConfigChangeOptions

    @Argument(help: ArgumentHelp("NAME=VALUE (not for secrets), or one NAME whose value is read from standard input.",
                                 valueName: "NAME[=VALUE]"))
    var assignments: [String] = []

    @Option(name: .customLong("from-file"), help: ArgumentHelp(
        "Set NAME to the content of FILE (repeatable).", valueName: "NAME=FILE"))
    var files: [String] = []

    func validate() throws {
        _ = try ConfigValues(assignments: assignments, files: files)
    }

    func run() async throws {
        let given = try ConfigValues(assignments: assignments, files: files)
        for name in given.exposed {
            complain("warning: the value of \(name) was on the command line, which every local user and app can "
                     + "read while dz runs: give secrets as `dz config set --project \(change.project.project) "
                     + "\(name)` (the value on standard input) or with --from-file \(name)=FILE")
        }
        let set: [String: String]
        do { set = try given.read() } catch {
            complain(error.message)
            throw ExitStatus.badInput
        }
        try await change.apply(set: set, unset: [])
    }
}
