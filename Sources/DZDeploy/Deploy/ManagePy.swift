import DZSpool
import DZSystem
import Logging

/// Runs an app's own commands next to one of its instances on this host: as the app's user, in the app's sandbox
/// (the instance record's), in `<bundle>/src`, with the instance's runtime environment read again from its file
/// beside the instance's record, and never through a shell. `post_deploy_hooks` runs migrate, the schema check and the
/// Procfile's release command with it; `managepy` runs whatever management command or script it is given.
///
/// What a command prints is kept from its end (the last `keep` bytes of each stream) and has the app's secrets
/// (the secret key, the database password and URL, secret-looking environment entries) masked as `***`.
package struct ManagePy: Sendable {
    package let record: InstanceRecord
    let environment: RuntimeEnvironment
    /// The values masked in every output, longest first.
    package let secrets: [String]
    /// Where its commands go: the app's control groups and limits.
    let placement: Subprocess.Placement

    /// The runner for `instance` of `project`, as recorded on this host.
    package init(settings: AppServerSettings, project: ProjectID, instance: String) throws(DeployError) {
        guard let record = try InstanceDirectory(root: settings.instancesRoot)
            .record(project: project.rawValue, instance: instance) else {
            throw .unknownInstance(instance)
        }
        self.record = record
        environment = try RuntimeEnvironment.read(for: record,
                                                  records: InstanceDirectory(root: settings.instancesRoot))
        secrets = environment.secrets
        placement = try settings.cgroups.placement(project: project.rawValue, limits: record.limits ?? settings.limits)
    }

    /// The bundle's Python, `<bundle>/venv/bin/python`.
    var python: String { record.bundleDirectory + "/venv/bin/python" }

    /// `python -m django <arguments>`: manage.py's commands, with the settings dz wrote for the app.
    package func django(_ arguments: [String]) -> [String] { [python, "-m", "django"] + arguments }

    /// `python -c <bootstrap>`, which sets Django up and runs the Python source given on standard input, as
    /// `manage.py shell -c` would (the source goes through a pipe, not the command line, so it may be long).
    package var script: [String] { [python, "-c", Self.scriptBootstrap] }

    static let scriptBootstrap = """
        import sys
        import django
        django.setup()
        source = sys.stdin.read()
        sys.stdin = open("/dev/null")
        exec(compile(source, "<dz manage --shell>", "exec"), {"__name__": "__main__"})
        """

    /// What a command did: how it ended and the end of what it printed, masked.
    package struct Run: Sendable, Equatable {
        package var ending: Subprocess.Outcome.Ending
        package var stdout: String
        package var stderr: String
        /// Whether the start of either stream was left out.
        package var truncated: Bool

        var succeeded: Bool { ending == .exited(0) }

        /// "exited with status 3", "was killed by signal 9", ...
        func why(timeout: Double) -> String {
            switch ending {
            case .timedOut: "ran past its time limit of \(Int(timeout)) s"
            case .cancelled: "was cancelled"
            case .signalled(let signal): "was killed by signal \(signal)"
            case .exited(let code): "exited with status \(code)"
            }
        }
    }

    /// Runs `command` (its first element an absolute path in the bundle) in the instance's sandbox. Throws only
    /// when it cannot start; a command that fails is a `Run` like any other.
    package func run(_ command: [String], input: [UInt8]? = nil, timeout: Double, keep: Int = 64 * 1024, kind: String,
                     logger: Logger) async throws(DeployError) -> Run
    {
        logger.info("running an app command", metadata: ["kind": "\(kind)", "instance": "\(record.instance)"])
        // A little more than `keep` is read, so that a secret cut in two at the edge is masked before the cut.
        let margin = 4096
        let outcome: Subprocess.Outcome
        do {
            outcome = try await Subprocess.run(Self.inDirectory(record.bundleDirectory + "/src", record.sandbox, command),
                                               environment: environment.forProcess, workingDirectory: "/", input: input,
                                               timeout: timeout, killGrace: 3, outputLimit: keep + margin,
                                               kept: .tail, placement: placement)
        } catch {
            throw .hook(kind: kind, "cannot run \(kind): \(error)")
        }
        let stdout = mask(outcome.stdout, keep: keep)
        let stderr = mask(outcome.stderr, keep: keep)
        return Run(ending: outcome.ending, stdout: stdout.text, stderr: stderr.text,
                   truncated: outcome.dropped > 0 || stdout.cut || stderr.cut)
    }

    /// `command` in `sandbox`, started in `directory` by `env --chdir` once it runs as the app's user (inside the
    /// sandbox's view with bubblewrap): root never enters a directory the app can replace with a link.
    static func inDirectory(_ directory: String, _ sandbox: [String], _ command: [String]) -> [String] {
        sandbox + ["/usr/bin/env", "--chdir=" + directory, "--"] + command
    }

    /// Runs `command` and returns its masked output (standard output, then error); fails with the end of it,
    /// as a `.hook(kind:)` error, when the command does not exit 0.
    package func runChecked(_ command: [String], timeout: Double, kind: String, logger: Logger) async throws(DeployError)
        -> String
    {
        let result = try await run(command, timeout: timeout, kind: kind, logger: logger)
        let output = result.stdout + result.stderr
        guard result.succeeded else {
            throw .hook(kind: kind, "\(kind) \(result.why(timeout: timeout)):\n" + Self.tail(output, lines: 25))
        }
        return output
    }

    /// `bytes` as text with the secrets masked, then cut to its last `keep` bytes.
    private func mask(_ bytes: [UInt8], keep: Int) -> (text: String, cut: Bool) {
        let masked = Redaction.mask(String(decoding: bytes, as: UTF8.self), secrets: secrets)
        guard masked.utf8.count > keep else { return (masked, false) }
        return (String(decoding: Array(masked.utf8.suffix(keep)), as: UTF8.self), true)
    }

    /// The last `lines` lines of `text`.
    package static func tail(_ text: String, lines: Int) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }
}
