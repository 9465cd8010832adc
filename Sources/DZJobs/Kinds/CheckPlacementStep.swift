import DZSpool
import DZTasks

/// `check_placement`: build_and_deploy's check, right after check_repo and before the build, that the app can be
/// placed once built (an SQLite app needs an appserver on its database's host whose apps root holds the file), so
/// that such a job fails in seconds with the fix rather than after its whole build.
enum CheckPlacementStep {
    static let definition = StepDefinition(
        "check_placement", after: ["check_repo"], task: "check_placement", queue: .build,
        maxAttempts: 2, backoffSeconds: 2, timeoutSeconds: 60)
    { context throws(JobError) in
        guard let project = context.project else { throw .missingInput("check_placement needs --project") }
        var args = CheckPlacementTask.Arguments(project: try ReleaseSteps.projectID(project))
        // The engine as build_bundle and create_database will choose it: the parameter, else the app's database's
        // as recorded, else the config's (read by the task), else the database host's.
        args.engine = context.param("db_engine") ?? BuildJob.recordedEngine(context)
        args.zoombuildConfig = context.param("zoombuild_cfg")
            ?? context.outputs(of: CheckRepoTask.self).first?.zoombuildConfig
        args.database = ReleaseSteps.sqliteDatabase(context)
        return args.json
    }

    /// `build`'s steps with the check between check_repo and build_bundle.
    static func around(_ steps: [StepDefinition]) -> [StepDefinition] {
        var result: [StepDefinition] = []
        for var step in steps {
            if step.name == "build_bundle" { step.after.append(definition.name) }
            result.append(step)
            if step.name == "check_repo" { result.append(definition) }
        }
        return result
    }
}
