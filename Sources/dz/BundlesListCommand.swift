import ArgumentParser
import DZClient
import DZSpool
import DZStore

struct BundlesListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List a project's bundles, oldest first, as the coordinator publishes them.",
        discussion: """
            DEPLOYED is yes while an active instance of the project runs the bundle; DELETED is when \
            delete_versions removed it from the bundle store (- while it is stored). Exit 0; 1 when the \
            project has no bundle.
            """)

    @OptionGroup var options: SpoolOptions

    @Option(name: .long, help: ArgumentHelp("The project id.", valueName: "project"))
    var project: String

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    func validate() throws {
        guard ProjectID.isValid(project) else {
            throw ValidationError("invalid project id \"\(project)\": use [a-z][a-z0-9_]*, at most 30 characters")
        }
    }

    func run() throws {
        let client = try options.client()
        let document = try reportingClientErrors { () throws(ClientError) in try client.state.project(project) }
        let bundles = document?.bundles ?? []
        let deployed = Set((document?.active ?? []).map(\.bundle))
        if json {
            print(JSONValue.array(bundles.map { bundle in
                var object = bundle.jsonObject
                object["deployed"] = .bool(deployed.contains(bundle.name))
                return .object(object)
            }).jsonText)
        } else if !bundles.isEmpty {
            var rows = [["NAME", "REVISION", "SIZE", "CREATED", "DEPLOYED", "DELETED"]]
            for bundle in bundles {
                rows.append([
                    bundle.name, bundle.codeRevision.map { String($0.prefix(12)) } ?? "-",
                    bundle.size.map { sizeText(UInt64(max(0, $0))) } ?? "-", String(bundle.created.rfc3339.prefix(19)),
                    deployed.contains(bundle.name) ? "yes" : "no",
                    bundle.deleted.map { String($0.rfc3339.prefix(19)) } ?? "-",
                ])
            }
            printTable(rows)
        }
        if bundles.isEmpty {
            complain("no bundles of project \(project)")
            throw ExitStatus.notFound
        }
    }
}
