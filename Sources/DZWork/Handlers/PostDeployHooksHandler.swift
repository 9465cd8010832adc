import DZAgent
import DZSpool
import DZSystem
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

    struct Options {
        var migrate = true
        var release = true
        var checkSchema = false
        var allowSchemaMismatch = false
        var timeout = 600.0
    }

    public func run(_ context: TaskContext) async throws -> [String: JSONValue] {
        let project = try context.project()
        let instance = try context.instance()
        var options = Options()
        options.migrate = try flag(context, "migrate", default: true)
        options.release = try flag(context, "release", default: true)
        options.checkSchema = try flag(context, "check_schema", default: false)
        options.allowSchemaMismatch = try flag(context, "allow_schema_mismatch", default: false)
        options.timeout = try context.number("timeout_s", default: 600)
        guard (1...86_400).contains(options.timeout) else {
            throw TaskFailure.badArgs("timeout_s must be from 1 to 86400")
        }
        do {
            return try await runHooks(project, instance, options, context.logger)
        } catch {
            throw error.taskFailure
        }
    }

    private func runHooks(_ project: ProjectID, _ instance: String, _ options: Options, _ logger: Logger)
        async throws(DeployError) -> [String: JSONValue]
    {
        let runner = try ManagePy(settings: settings, project: project, instance: instance)
        let record = runner.record
        var transcript = ""
        var schemaAhead: JSONValue = .null
        var skip = false
        if options.checkSchema {
            let check = try await SchemaCheck.run(runner, project: project.rawValue, timeout: options.timeout,
                                                  logger: logger)
            schemaAhead = .array(check.ahead.map { .string($0) })
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
            transcript += try await runner.runChecked(runner.django(["migrate", "--noinput"]), timeout: options.timeout,
                                                      kind: "migrate", logger: logger)
            migrated = true
        }
        var releaseCommand: ProcfileCommand?
        if options.release, !skip {
            releaseCommand = try ReleaseCommandSource.command(of: record)
            if let releaseCommand {
                transcript += try await runner.runChecked(releaseCommand.argv, timeout: options.timeout,
                                                          kind: "release", logger: logger)
            }
        }
        return Redaction.maskedOutput([
            "migrated": .bool(migrated),
            "release": releaseCommand.map { .string(Redaction.mask($0.line, secrets: runner.secrets)) } ?? .null,
            "schema_ahead": schemaAhead,
            "output": .string(ManagePy.tail(transcript, lines: 40)),
        ])
    }

    private func flag(_ context: TaskContext, _ key: String, default value: Bool) throws(TaskFailure) -> Bool {
        switch context.args[key] {
        case nil, .null?: value
        case .bool(let given)?: given
        case let other?: throw .badArgs("argument \"\(key)\" must be a boolean, not \(other.typeName)")
        }
    }
}
