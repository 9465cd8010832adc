import DZAgent
import DZSpool
import DZSystem
import Logging

/// `post_deploy_hooks` (queue `appserver_<id>`): runs a new deploy's one-off commands next to one of its
/// instances, as the app's user, in the app's sandbox and with the instance's runtime environment:
/// `python -m django migrate --noinput`, then the Procfile's `release:` command if the project has one (split into
/// arguments, never given to a shell; see `ProcfileCommand`). Both run in `<bundle>/src`.
///
/// Arguments: `project`, `instance` (an instance on this host); optional `migrate` and `release` (default true),
/// `timeout_s` (each command's time limit, default 600). A failing command fails the task (kind `migrate` or
/// `release`, not retryable) with the end of its output, secrets masked.
///
/// Output: `migrated`, `release` (the command run, or null), `output` (the end of the commands' output, masked).
public struct PostDeployHooksHandler: TaskHandler {
    public let name = "post_deploy_hooks"
    public let settings: AppServerSettings

    public init(settings: AppServerSettings) {
        self.settings = settings
    }

    public func run(_ context: TaskContext) async throws -> [String: JSONValue] {
        let project = try context.project()
        let instance = try context.instance()
        let migrate = try flag(context, "migrate")
        let release = try flag(context, "release")
        let timeout = try context.number("timeout_s", default: 600)
        guard (1...86_400).contains(timeout) else { throw TaskFailure.badArgs("timeout_s must be from 1 to 86400") }
        do {
            return try await runHooks(project, instance, migrate: migrate, release: release, timeout: timeout,
                                      context.logger)
        } catch {
            throw error.taskFailure
        }
    }

    private func runHooks(_ project: ProjectID, _ instance: String, migrate: Bool, release: Bool, timeout: Double,
                          _ logger: Logger) async throws(DeployError) -> [String: JSONValue]
    {
        guard let record = try InstanceDirectory(root: settings.instancesRoot)
            .record(project: project.rawValue, instance: instance) else {
            throw .unknownInstance(instance)
        }
        let user = record.appUser
        let environment = try RuntimeEnvironment.read(appDirectory: record.appDirectory, bundle: record.bundle,
                                                      user: user)
        let secrets = environment.secrets
        var transcript = ""
        var migrated = false
        if migrate {
            let command = [record.bundleDirectory + "/venv/bin/python", "-m", "django", "migrate", "--noinput"]
            transcript += try await run(command, kind: "migrate", record: record, environment: environment,
                                        timeout: timeout, secrets: secrets, logger: logger)
            migrated = true
        }
        var releaseCommand: ProcfileCommand?
        if release {
            releaseCommand = try procfileRelease(record)
            if let releaseCommand {
                transcript += try await run(releaseCommand.argv(bundleDirectory: record.bundleDirectory),
                                            kind: "release", record: record, environment: environment,
                                            timeout: timeout, secrets: secrets, logger: logger)
            }
        }
        return Redaction.maskedOutput([
            "migrated": .bool(migrated),
            "release": releaseCommand.map { .string(Redaction.mask($0.arguments.joined(separator: " "),
                                                                   secrets: secrets)) } ?? .null,
            "output": .string(Self.tail(transcript, lines: 40)),
        ])
    }

    /// Runs one hook in the instance's sandbox; returns its masked output, or fails with its tail.
    private func run(_ command: [String], kind: String, record: InstanceRecord, environment: RuntimeEnvironment,
                     timeout: Double, secrets: [String], logger: Logger) async throws(DeployError) -> String
    {
        logger.info("running hook", metadata: ["hook": "\(kind)", "instance": "\(record.instance)"])
        let outcome: Subprocess.Outcome
        do {
            outcome = try await Subprocess.run(record.sandbox + command, environment: environment.variables,
                                               workingDirectory: record.bundleDirectory + "/src", timeout: timeout)
        } catch {
            throw .hook(kind: kind, "cannot run \(kind): \(error)")
        }
        let output = Redaction.mask(outcome.stdoutText + outcome.stderrText, secrets: secrets)
        guard outcome.succeeded else {
            let why: String = switch outcome.ending {
            case .timedOut: "ran past its time limit of \(Int(timeout)) s"
            case .cancelled: "was cancelled"
            case .signalled(let signal): "was killed by signal \(signal)"
            case .exited(let code): "exited with status \(code)"
            }
            throw .hook(kind: kind, "\(kind) \(why):\n" + Self.tail(output, lines: 25))
        }
        return output
    }

    /// The `release:` command of the project's Procfile (`<bundle>/src/Procfile`, the app's file), or nil.
    private func procfileRelease(_ record: InstanceRecord) throws(DeployError) -> ProcfileCommand? {
        let bytes: [UInt8]
        do {
            let source = try DirectoryHandle.open(record.appDirectory).directory(components: [record.bundle, "src"])
            guard source.entry("Procfile") != nil else { return nil }
            bytes = try source.read("Procfile", limit: 64 * 1024, ownedBy: record.uid)
        } catch {
            throw .filesystem("read", path: record.bundleDirectory + "/src/Procfile", error)
        }
        do {
            return try ProcfileCommand.find("release", in: String(decoding: bytes, as: UTF8.self))
        } catch {
            throw .hook(kind: "release", error.description)
        }
    }

    private func flag(_ context: TaskContext, _ key: String) throws(TaskFailure) -> Bool {
        switch context.args[key] {
        case nil, .null?: true
        case .bool(let value)?: value
        case let other?: throw .badArgs("argument \"\(key)\" must be a boolean, not \(other.typeName)")
        }
    }

    static func tail(_ text: String, lines: Int) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }
}
