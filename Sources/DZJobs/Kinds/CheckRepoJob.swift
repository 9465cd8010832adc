import DZSpool
import DZStore

/// `check_repo`: check a project's repository out on a build host and guess how to build and deploy it.
/// Parameters: `source` (the repository URL, required), `rev` (branch, tag or commit), `vcs` (`git` or `hg`).
/// The guesses are stored in the zoomdb (replacing the project's earlier ones) and returned in the result.
public enum CheckRepoJob {
    public static let kind: JobKind = {
        var kind = definition
        kind.requiredParams = ["source"]
        kind.needsProject = true
        return kind
    }()

    /// check_repo as a build's first step: the job's own zoombuild.cfg decides the Python, and a Python no build
    /// host offers fails the job there, in seconds, rather than at pip.
    static func requiringPython(_ step: StepDefinition) -> StepDefinition {
        var step = step
        let base = step.args
        step.args = { context throws(JobError) in
            var args = try base(context)
            args["require_python"] = .bool(true)
            if let config = context.param("zoombuild_cfg") { args["zoombuild_cfg"] = .string(config) }
            // Without the release command (`--param release=false`) there is none to refuse.
            if context.param("release") == "false" { args["release"] = .bool(false) }
            return args
        }
        return step
    }

    static let definition = JobKind(
        name: "check_repo", summary: "check out a project and guess how to build and deploy it",
        steps: [
            StepDefinition("check_repo", task: "check_repo", queue: .build, maxAttempts: 2,
                           timeoutSeconds: 900) { context throws(JobError) in
                guard let project = context.project else { throw .missingInput("check_repo needs --project") }
                guard let source = context.param("source"), !source.isEmpty else {
                    throw .missingInput("check_repo needs --param source=URL")
                }
                var args: [String: JSONValue] = ["project": .string(project), "source": .string(source)]
                if let revision = context.param("rev") { args["rev"] = .string(revision) }
                if let vcs = context.param("vcs") { args["vcs"] = .string(vcs) }
                return args
            }
            .recording { job, step, db in
                guard let project = job.project, let output = step.output else { return }
                let guesses = (output["guesses"]?.arrayValue ?? []).compactMap { value -> StoredGuess? in
                    guard let object = value.objectValue, let field = object["field"]?.stringValue,
                          let text = object["value"]?.stringValue else { return nil }
                    return StoredGuess(field: field, value: text, isPrimary: object["is_primary"] == .bool(true),
                                       basis: object["basis"]?.stringValue ?? "")
                }
                let title = guesses.first { $0.field == "title" && $0.isPrimary }?.value
                try db.upsertProject(project, sourceURL: job.params["source"]?.stringValue, title: title)
                try db.replaceGuesses(of: project, with: guesses)
                try db.log(job.id, .info, "\(guesses.count) config guesses recorded for project \(project)")
            },
        ])
}
