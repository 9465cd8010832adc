import ArgumentParser
import DZClient
import DZSpool
import DZStore

struct ReleasesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "releases",
        abstract: "List the app's releases, newest first.",
        discussion: """
            A release is what a build_and_deploy, rollback, config or hostnames job put live or tried to: its \
            number, job kind, bundle, code revision, config version, who asked, when it ended and how. The \
            current release (the newest that succeeded) is marked with *. From what the coordinator publishes \
            in the spool (state/projects/<project>.json, the newest 1000), on any host. Exit 0, or 1 when there \
            is none.
            """)

    @OptionGroup var options: SpoolOptions
    @OptionGroup var project: ProjectOption

    @Option(name: [.customShort("n"), .long], help: "How many to list.")
    var limit = 20

    @Flag(name: .long, help: "Print JSON lines instead of a table.")
    var json = false

    func run() throws {
        let client = try options.client()
        let document = try client.projectDocument(project.project, missing: "project \(project.project) has no releases yet")
        let releases = Array(document.releases.prefix(max(1, limit)))
        guard !releases.isEmpty else {
            complain("project \(project.project) has no releases yet")
            throw ExitStatus.notFound
        }
        let current = document.currentRelease?.number
        if json {
            for release in releases {
                var object = release.jsonObject
                object["current"] = .bool(release.number == current)
                print(JSONValue.object(object).jsonText)
            }
            return
        }
        var rows = [["", "RELEASE", "KIND", "BUNDLE", "REVISION", "CONFIG", "BY", "WHEN", "RESULT", "WHAT"]]
        for release in releases {
            rows.append([release.number == current ? "*" : "", "v\(release.number)", release.kind, release.bundle,
                         release.revision.map { String($0.prefix(12)) } ?? "-", "\(release.configVersion)",
                         release.issuedBy ?? "-", release.created.rfc3339, release.result,
                         release.description ?? "-"])
        }
        printTable(rows)
    }
}
