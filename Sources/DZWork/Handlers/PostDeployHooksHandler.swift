import DZAgent
import DZDeploy
import DZSpool
import DZSystem
import DZTasks
import Logging

/// `post_deploy_hooks` (queue `appserver_<id>`): runs a new deploy's one-off commands next to one of its
/// instances, as the app's user, in the app's sandbox and with the instance's runtime environment (see
/// `ManagePy`): with `check_schema`, first a check that the database is not ahead of the bundle (`SchemaCheck`);
/// then `python -m django migrate --noinput`, then the release command if the project has one (zoombuild.cfg's
/// `procfile_release`, else the Procfile's `release:` line; see `ReleaseCommandSource`), through `/bin/sh -c` as
/// Heroku runs it (see `ProcfileCommand`). All run in `<bundle>/src`.
///
/// Arguments: `project`, `instance` (an instance on this host); optional `migrate` and `release` (default true),
/// `check_schema` and `allow_schema_mismatch` (default false), `timeout_s` (each command's time limit, default
/// 600). A failing command fails the task (kind `migrate`, `release` or `schema-check`, not retryable) with the end
/// of its output, secrets masked. A database ahead of the bundle fails it (kind `schema-mismatch`, not retryable)
/// unless `allow_schema_mismatch`, which skips migrate and the release command instead.
///
/// Output: `migrated`, `release` (the command run, or null), `schema_ahead` (the migrations the database is ahead
/// by, `app.name`, or null without `check_schema`), `output` (the end of the commands' output, masked).
public struct PostDeployHooksHandler: TaskHandler {
    public let name = "post_deploy_hooks"
    public let settings: AppServerSettings

    public init(settings: AppServerSettings) {
        self.settings = settings
    }

    public func run(_ context: TaskContext) async throws -> [String: JSONValue] {
        let args = try context.arguments(of: PostDeployHooksTask.self)
        let instance = args.instance
        do {
            return try await runHooks(args, instance: instance, timeout: args.timeout ?? 600, context.logger).json
        } catch {
            throw error.taskFailure
        }
    }

    private func runHooks(_ options: PostDeployHooksTask.Arguments, instance: String, timeout: Double,
                          _ logger: Logger) async throws(DeployError) -> PostDeployHooksTask.Output
    {
        let project = options.project
        let runner = try ManagePy(settings: settings, project: project, instance: instance)
        let record = runner.record
        var transcript = ""
        var schemaAhead: [String]?
        var skip = false
        if options.checkSchema {
            let check = try await SchemaCheck.run(runner, project: project.rawValue, timeout: timeout, logger: logger)
            schemaAhead = check.ahead
            if !check.ahead.isEmpty {
                guard options.allowSchemaMismatch else {
                    throw .hook(kind: "schema-mismatch", check.refusal(project: project.rawValue))
                }
                skip = true
                transcript += "schema_mismatch: [" + check.ahead.joined(separator: ", ")
                    + "]: allowed; migrate and the release command skipped\n"
            }
        }
        var migrated = false
        if options.migrate, !skip {
            transcript += try await runner.runChecked(runner.django(["migrate", "--noinput"]), timeout: timeout,
                                                      kind: "migrate", logger: logger)
            migrated = true
        }
        var releaseCommand: ProcfileCommand?
        if options.release, !skip {
            releaseCommand = try ReleaseCommandSource.command(of: record)
            if let releaseCommand {
                transcript += try await runner.runChecked(releaseCommand.argv, timeout: timeout,
                                                          kind: "release", logger: logger)
            }
        }
        // The transcript's secrets are masked by `runChecked`; the release line is masked here.
        return PostDeployHooksTask.Output(
            migrated: migrated, release: releaseCommand.map { Redaction.mask($0.line, secrets: runner.secrets) },
            schemaAhead: schemaAhead, output: ManagePy.tail(transcript, lines: 40))
    }
}
