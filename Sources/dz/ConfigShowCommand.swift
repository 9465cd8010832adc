import ArgumentParser
import DZClient
import DZSpool
import DZStore
import Foundation

struct ConfigShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print the app's environment, secret-looking values masked (names only away from the zoomdb).",
        discussion: """
            Values of names with PASS, SECRET, TOKEN, KEY, CREDENTIAL or AUTH in them print as *** unless \
            --reveal. The first line gives the config version the zoomdb holds and the one the current \
            release runs. No value is ever published in the spool: the values are read from the zoomdb, \
            read-only, where it is on this host (the coordinator's host, or --db); on any other host the \
            names print, each with ***, from what the coordinator publishes. Exit 0, 1 when the project is \
            unknown, 69 with --reveal away from the zoomdb.
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
        let environmentVariables = ProcessInfo.processInfo.environment
        let db: ZoomDB?
        if reveal {
            db = try reportingClientErrors { () throws(ClientError) in
                try LocalZoomDB.open(spool: client.spool, explicit: database.db, environment: environmentVariables)
            }
        } else {
            db = try? LocalZoomDB.open(spool: client.spool, explicit: database.db, environment: environmentVariables)
        }
        if let db {
            do {
                environment = try db.environment(of: project.project)
                version = try db.configVersion(of: project.project)
            } catch {
                complain("cannot read the zoomdb: \(error)")
                throw ExitStatus.systemFailure
            }
        } else if !environment.isEmpty {
            complain("values are shown only where the zoomdb is (the coordinator's host): never published in the spool")
        }
        let live = document.currentRelease?.configVersion
        print("# config version \(version)" + (live.map { ", live: version \($0)" } ?? ", not deployed"))
        for name in environment.keys.sorted() {
            let value = environment[name] ?? ""
            print("\(name)=\(reveal || !Redaction.looksSecret(name) ? value : "***")")
        }
    }
}
