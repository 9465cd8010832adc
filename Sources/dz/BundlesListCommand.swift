import ArgumentParser
import DZSpool
import DZStore

struct BundlesListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List a project's bundles, oldest first, from the zoomdb.",
        discussion: """
            DEPLOYED is yes while an active instance of the project runs the bundle; DELETED is when \
            delete_versions removed it from the bundle store (- while it is stored). Exit 0; 1 when the \
            project has no bundle; 69 without a zoomdb.
            """)

    @OptionGroup var options: SpoolOptions
    @OptionGroup var database: DatabaseOptions

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
        let db = try database.openLocal(spool: try options.makeSpool())
        let bundles = try db.bundles(of: project)
        let deployed = Set(try db.activeDeployments(of: project).map(\.bundle))
        if json {
            print(JSONValue.array(bundles.map { bundle in
                .object([
                    "name": .string(bundle.name), "project": .string(bundle.project),
                    "revision": bundle.codeRevision.map(JSONValue.string) ?? .null,
                    "sha256": bundle.sha256.map(JSONValue.string) ?? .null,
                    "size": bundle.size.map(JSONValue.int) ?? .null,
                    "storage_url": bundle.storageURL.map(JSONValue.string) ?? .null,
                    "created": .string(bundle.created.rfc3339), "deployed": .bool(deployed.contains(bundle.name)),
                    "deleted": bundle.deleted.map { .string($0.rfc3339) } ?? .null,
                ])
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
