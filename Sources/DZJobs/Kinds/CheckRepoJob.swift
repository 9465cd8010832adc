import DZSpool
import DZStore
import DZTasks

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
        step.args = { context throws(JobError) in try arguments(context, forBuild: true).json }
        return step
    }

    /// The task's arguments: the project, its source, `rev` and `vcs`; in a build, also the job's zoombuild.cfg,
    /// the Python requirement, and whether the release command will run (`--param release=false`: not checked).
    static func arguments(_ context: JobContext, forBuild: Bool) throws(JobError) -> CheckRepoTask.Arguments {
        guard let project = context.project else { throw .missingInput("check_repo needs --project") }
        guard let source = context.param("source"), !source.isEmpty else {
            throw .missingInput("check_repo needs --param source=URL")
        }
        var args = CheckRepoTask.Arguments(project: try ReleaseSteps.projectID(project), source: source,
                                           rev: context.param("rev"), vcs: context.param("vcs"))
        if forBuild {
            args.requirePython = true
            args.zoombuildConfig = context.param("zoombuild_cfg")
            args.release = context.param("release") != "false"
        }
        return args
    }

    static let definition = JobKind(
        name: "check_repo", summary: "check out a project and guess how to build and deploy it",
        steps: [
            StepDefinition("check_repo", task: "check_repo", queue: .build, maxAttempts: 2,
                           timeoutSeconds: 900) { context throws(JobError) in
                try arguments(context, forBuild: false).json
            }
            .recording { job, step, db in
                guard let project = job.project,
                      let output = try StepOutputs.read(CheckRepoTask.self, step, job, db) else { return }
                let guesses = output.guesses
                let title = guesses.first { $0.field == "title" && $0.isPrimary }?.value
                try db.upsertProject(project, sourceURL: job.params["source"]?.stringValue, title: title)
                try db.replaceGuesses(of: project, with: guesses)
                try db.log(job.id, .info, "\(guesses.count) config guesses recorded for project \(project)")
            },
        ])
}
