import ArgumentParser
import DZClient
import DZSpool
import Foundation

struct ConfigShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print the app's environment, secret-looking values masked.",
        discussion: """
            Values of names with PASS, SECRET, TOKEN, KEY, CREDENTIAL or AUTH in them print as *** unless \
            --reveal. The first line gives the config version the zoomdb holds and the one the current \
            release runs. From what the coordinator publishes in the spool, on any host, where secret-looking \
            values are never published: --reveal reads them from the zoomdb, read-only, on the coordinator's \
            host only (or --db). Exit 0, 1 when the project is unknown, 69 with --reveal away from the zoomdb.
            """)

    @OptionGroup var options: SpoolOptions
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var project: ProjectOption

    @Flag(name: .long, help: "Print secret-looking values as they are (on the coordinator's host).")
    var reveal = false

    func run() throws {
        let client = try options.client()
        let document = try client.projectDocument(project.project, missing: "no project \(project.project)")
        var environment = document.environment
        var version = document.configVersion
        if reveal {
            let db = try reportingClientErrors { () throws(ClientError) in
                try LocalZoomDB.open(spool: client.spool, explicit: database.db,
                                     environment: ProcessInfo.processInfo.environment)
            }
            do {
                environment = try db.environment(of: project.project)
                version = try db.configVersion(of: project.project)
            } catch {
                complain("cannot read the zoomdb: \(error)")
                throw ExitStatus.systemFailure
            }
        }
        let live = document.currentRelease?.configVersion
        print("# config version \(version)" + (live.map { ", live: version \($0)" } ?? ", not deployed"))
        for name in environment.keys.sorted() {
            let value = environment[name] ?? ""
            print("\(name)=\(reveal || !Redaction.looksSecret(name) ? value : "***")")
        }
    }
}
