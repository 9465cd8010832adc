import DZSpool
import DZStore
import DZTasks
import Foundation

/// `delete_versions`: removes stored bundles of a project (`--param bundles=name,name`) and marks them deleted in
/// the zoomdb.
///
/// Bundles in use are refused: the kind's facts are the bundles of the project's active deployments
/// (`deployed_bundles`) and what the zoomdb records of each requested bundle (`bundles`: reference -> name and
/// project). Planning fails, and nothing is deleted, when any requested bundle is deployed or belongs to another
/// project. Each requested reference is a bundle name or a release (`v3`); `resolve` is the one place that turns
/// a reference into the bundle it names.
public enum DeleteVersionsJob {
    public static let kind: JobKind = {
        var kind = JobKind(
            name: "delete_versions", summary: "delete stored bundles of a project",
            steps: [
                StepDefinition("delete_versions", task: "delete_versions", queue: .build,
                               maxAttempts: 3) { context throws(JobError) in
                    guard let project = context.project else { throw .missingInput("delete_versions needs --project") }
                    let names = try bundles(context, project: project)
                    return DeleteVersionsTask.Arguments(project: try ReleaseSteps.projectID(project), bundles: names).json
                }
                .recording { job, step, db in
                    let deleted = step.output.flatMap { try? DeleteVersionsTask.Output(json: $0) }?.deleted ?? []
                    try db.markBundlesDeleted(deleted)
                    try db.log(job.id, .info, "\(deleted.count) bundles deleted: \(deleted.joined(separator: ", "))")
                },
            ])
        kind.requiredParams = ["bundles"]
        kind.needsProject = true
        kind.facts = { job, db in try facts(job, db) }
        return kind
    }()

    /// The references in the `bundles` parameter (comma-separated), in order, repeats dropped.
    public static func references(_ params: [String: JSONValue]) -> [String] {
        guard case .string(let text)? = params["bundles"] else { return [] }
        var references: [String] = []
        for part in text.split(separator: ",") {
            let reference = part.trimmingCharacters(in: .whitespaces)
            if !reference.isEmpty, !references.contains(reference) { references.append(reference) }
        }
        return references
    }

    /// The zoomdb's record of the bundle `reference` names, or nil when it has none: a bundle name, or a release
    /// of the project as `dz releases` shows it (`v3`, or `3`), which names that release's bundle.
    static func resolve(_ reference: String, project: String, db: ZoomDB) throws -> BundleRecord? {
        let digits = reference.hasPrefix("v") ? reference.dropFirst() : Substring(reference)
        if let number = Int(digits), number > 0 {
            guard let release = try db.release(of: project, number: number) else { return nil }
            return try db.bundle(named: release.bundle)
        }
        return try db.bundle(named: reference)
    }

    static func facts(_ job: JobRecord, _ db: ZoomDB) throws -> [String: JSONValue] {
        guard let project = job.project else { return [:] }
        let deployed = Set(try db.activeDeployments(of: project).map(\.bundle)).sorted()
        var known: [String: JSONValue] = [:]
        for reference in references(job.params) {
            guard let record = try resolve(reference, project: project, db: db) else { continue }
            known[reference] = .object(["name": .string(record.name), "project": .string(record.project)])
        }
        return ["deployed_bundles": .array(deployed.map { .string($0) }), "bundles": .object(known)]
    }

    /// The names of the bundles to delete; a `JobError` naming every bundle that is deployed or another
    /// project's. A reference the zoomdb does not know is taken as a bundle name (the store may hold a bundle
    /// whose record was lost) if it reads as one of the project's; the task checks it again.
    static func bundles(_ context: JobContext, project: String) throws(JobError) -> [String] {
        let references = references(context.params)
        guard !references.isEmpty else { throw .missingInput("delete_versions needs --param bundles=name,...") }
        guard let deployedList = context.facts["deployed_bundles"]?.arrayValue else {
            throw .missingOutput("delete_versions: the project's deployments were not read from the zoomdb")
        }
        let deployed = Set(deployedList.compactMap(\.stringValue))
        let known = context.facts["bundles"]?.objectValue ?? [:]
        var names: [String] = []
        var foreign: [String] = []
        var unknown: [String] = []
        for reference in references {
            if let record = known[reference]?.objectValue, let name = record["name"]?.stringValue {
                let owner = record["project"]?.stringValue ?? ""
                if owner != project {
                    foreign.append("\(name) (project \(owner))")
                } else if !names.contains(name) {
                    names.append(name)
                }
            } else if reference.hasPrefix("bundle_" + project + "_") {
                names.append(reference)
            } else {
                unknown.append(reference)
            }
        }
        var problems: [String] = []
        if !unknown.isEmpty {
            problems.append("no bundle \(unknown.joined(separator: ", ")) of project \(project)")
        }
        if !foreign.isEmpty {
            problems.append("not bundles of project \(project): \(foreign.joined(separator: ", "))")
        }
        let inUse = names.filter(deployed.contains)
        if !inUse.isEmpty {
            let (verb, pronoun) = inUse.count == 1 ? ("is", "it") : ("are", "them")
            problems.append("\(inUse.joined(separator: ", ")) \(verb) deployed (active instances of project \(project) "
                + "run \(pronoun); deploy another bundle or undeploy first)")
        }
        guard problems.isEmpty else { throw .refused(problems.joined(separator: "; ") + "; nothing deleted") }
        return names
    }
}
