import DZSpool
import Foundation
import DZStore

/// `delete_versions`: removes stored bundles of a project (`--param bundles=name,name`) and marks them deleted in
/// the zoomdb.
public enum DeleteVersionsJob {
    public static let kind: JobKind = {
        var kind = JobKind(
            name: "delete_versions", summary: "delete stored bundles of a project",
            steps: [
                StepDefinition("delete_versions", task: "delete_versions", queue: try! QueueName("build"),
                               maxAttempts: 3) { context throws(JobError) in
                    guard let project = context.project else { throw JobError("delete_versions needs --project") }
                    let names = (context.param("bundles") ?? "").split(separator: ",").map {
                        String($0).trimmingCharacters(in: .whitespaces)
                    }.filter { !$0.isEmpty }
                    guard !names.isEmpty else { throw JobError("delete_versions needs --param bundles=name,...") }
                    return ["project": .string(project), "bundles": .array(names.map { .string($0) })]
                }
                .recording { job, step, db in
                    let deleted = (step.output?["deleted"]?.arrayValue ?? []).compactMap(\.stringValue)
                    try db.markBundlesDeleted(deleted)
                    try db.log(job.id, .info, "\(deleted.count) bundles deleted")
                },
            ])
        kind.requiredParams = ["bundles"]
        kind.needsProject = true
        return kind
    }()
}
