import ArgumentParser
import DZSpool

struct ConfigShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print the app's environment, secret-looking values masked.",
        discussion: """
            Values of names with PASS, SECRET, TOKEN, KEY, CREDENTIAL or AUTH in them print as *** unless \
            --reveal. The first line gives the config version the zoomdb holds and the one the current \
            release runs. Exit 0, or 1 when the project is unknown.
            """)

    @OptionGroup var options: SpoolOptions
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var project: ProjectOption

    @Flag(name: .long, help: "Print secret-looking values as they are.")
    var reveal = false

    func run() throws {
        let db = try database.openLocal(spool: try options.makeSpool())
        guard try db.project(project.project) != nil else {
            complain("no project \(project.project)")
            throw ExitStatus.notFound
        }
        let environment = try db.environment(of: project.project)
        let live = try db.currentRelease(of: project.project)?.configVersion
        print("# config version \(try db.configVersion(of: project.project))"
              + (live.map { ", live: version \($0)" } ?? ", not deployed"))
        for name in environment.keys.sorted() {
            let value = environment[name] ?? ""
            print("\(name)=\(reveal || !Redaction.looksSecret(name) ? value : "***")")
        }
    }
}
