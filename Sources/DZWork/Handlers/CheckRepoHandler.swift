import DZAgent
import DZBuild
import DZDeploy
import DZSource
import DZSpool
import DZSystem
import DZTasks

/// `check_repo` (queue `build`): checks a project's repository out into the build host's reused working copy,
/// inspects it without running any of its code, and returns the revision, the config guesses, the warnings and
/// the proposed zoombuild.cfg. Arguments: `project`, `source` (URL), optional `rev` and `vcs` (`git`, `hg`),
/// `zoombuild_cfg` (the job's own config, over the proposal), `require_python` (true in build jobs: a Python or a
/// Procfile release command dz cannot provide fails the job here) and `release` (false: the release command will
/// not run, so it is not checked).
///
/// It also checks the Python the project asks for (the config's `python_version`) against the ones this build
/// host offers (`AllowedPythons`): output `python` is the one a build would use; when none fits, a build job fails
/// here, in seconds, with kind `python-unavailable` and the one sentence that says what is asked, what the host
/// has and how to add it (a plain check_repo job reports it as a warning).
public struct CheckRepoHandler: TaskHandler {
    public let name = "check_repo"
    public let workspace: Workspace
    public let checkout: SourceCheckout
    public let inspector: DjangoInspector
    /// Whether `file://` URLs and plain paths on this host may be checked out (`dz agent --allow-local-sources`).
    public let allowLocalSources: Bool
    /// The interpreters this build host offers.
    public let pythons: AllowedPythons

    /// `limits` bound the checkout as they bound a build's (a revision past `maxBundleSize` is refused before its
    /// files are written).
    public init(workspace: Workspace, allowLocalSources: Bool = false, limits: BuildLimits = BuildLimits(),
                checkout: SourceCheckout? = nil, inspector: DjangoInspector = DjangoInspector(),
                pythons: AllowedPythons = .systemDefaults())
    {
        self.workspace = workspace
        self.pythons = pythons
        self.allowLocalSources = allowLocalSources
        self.checkout = checkout ?? SourceCheckout(limits: limits)
        self.inspector = inspector
    }

    public func run(_ context: TaskContext) async throws -> [String: JSONValue] {
        let args = try context.arguments(of: CheckRepoTask.self)
        let project = args.project
        let url = try SourceURL.argument(args.source, allowLocal: allowLocalSources)
        let vcs = try SourceCheckout.VCS.argument(args.vcs)
        let requested = args.rev
        let directory = workspace.sourceDirectory(project)
        do { try workspace.prepareCheckoutDirectory(for: project) } catch {
            throw TaskFailure(kind: error.kind, message: error.message, retryable: false)
        }
        context.logger.info("checking out", metadata: ["url": "\(url.redacted)", "into": "\(directory)"])
        let revision: SourceCheckout.Revision
        do {
            revision = try await checkout.checkout(url: url, revision: requested, vcs: vcs,
                                                   into: directory)
        } catch .tooLarge(let bytes, let files, let limits) {
            throw TaskFailure(kind: "too-large", message: CheckoutError.tooLarge(bytes: bytes, files: files,
                                                                                limits: limits).description,
                              retryable: false)
        } catch {
            throw TaskFailure(kind: "checkout", message: error.description, retryable: error.isTransient)
        }
        let inspection: Inspection
        do { inspection = try await inspector.inspect(repository: directory, sourceURL: url.text) } catch {
            throw TaskFailure(kind: "inspection", message: error.description, retryable: false)
        }
        guard inspection.isDjango else {
            let why = inspection.warnings.first { $0.hasPrefix("not a Django project") } ?? "not a Django project"
            throw TaskFailure(kind: "not-django", message: "\(why) (revision \(revision.commit.prefix(12)))",
                              retryable: false)
        }
        var rejected: [ZoombuildConfig.RejectedGuess] = []
        let config = ZoombuildConfig(guesses: inspection.guesses, rejected: &rejected)
        var warnings = inspection.warnings + rejected.map { "guess not used: \($0.error)" }
        // The job's own config decides when it has one (one that does not parse is build_bundle's to report).
        let given = args.zoombuildConfig.flatMap { try? ZoombuildConfig.parse($0) }
        let askedFor = given != nil ? given?.pythonVersion : config.pythonVersion
        let requirement = askedFor.flatMap(PythonRequirement.init)
        let python = pythons.newest(allowedBy: requirement)
        if python == nil {
            let basis = given != nil ? "python_version in the job's zoombuild.cfg"
                : inspection.guesses.first { $0.field == "python_version" && $0.isPrimary }.map { "from \($0.basis)" }
            let message = AllowedPythons.unavailable(requirement ?? PythonRequirement("*")!, basis: basis,
                                                     host: "this build host", offered: pythons.summary)
            if args.requirePython {
                throw TaskFailure(kind: "python-unavailable", message: message, retryable: false)
            }
            warnings.append(message)
        }
        if given?.procfileRelease == "", let line = config.procfileRelease, !line.isEmpty {
            warnings.append("the Procfile's release line (\(line.prefix(80))) does not run: zoombuild.cfg sets "
                            + "procfile_release empty (remove the key to run it)")
        }
        // A release command dz would refuse is refused now, in seconds, not after the build and the migration.
        if args.requirePython, args.release {
            // The job's own procfile_release, else the Procfile's line (which the proposal's was guessed from).
            if let problem = await Self.releaseProblem(configured: given?.procfileRelease, repository: directory) {
                throw TaskFailure(kind: "procfile", message: problem, retryable: false)
            }
        }
        return CheckRepoTask.Output(
            revision: CheckRepoTask.Revision(vcs: revision.vcs.rawValue, commit: revision.commit,
                                             subject: revision.subject),
            guesses: inspection.guesses,
            warnings: warnings, skipped: inspection.skipped,
            zoombuildConfig: config.rendered(leftOut: rejected)
                + ZoombuildConfig.proposalNotes(guesses: inspection.guesses),
            python: python.flatMap(AllowedPythons.version(ofPath:))).json
    }
}

extension CheckRepoHandler {
    /// Why the release command that would run (zoombuild.cfg's `procfile_release` when `configured` is set, empty
    /// meaning none; else the `release:` line of the repository's `Procfile`, a regular file at its top) would be
    /// refused or fail to parse in post_deploy_hooks (see `ProcfileCommand`), with the ways out; nil when it would
    /// run or there is none.
    static func releaseProblem(configured: String?, repository: String) async -> String? {
        let command: ProcfileCommand?
        do {
            if let configured {
                command = configured.allSatisfy(\.isWhitespace) ? nil
                    : try ProcfileCommand(process: "release", line: configured)
            } else {
                let path = repository + "/Procfile"
                guard (try? FileSystem.linkStatus(path))?.isRegular == true,
                      case .contents(let bytes, _)? = try? FileIO.read(path, limit: 64 * 1024) else { return nil }
                command = try ProcfileCommand.find("release", in: String(decoding: bytes, as: UTF8.self))
            }
        } catch {
            return refusal(error, configured: configured)
        }
        guard let command, let problem = await command.syntaxProblem() else { return nil }
        return refusal(problem, configured: configured)
    }

    private static func refusal(_ error: ProcfileCommand.Failure, configured: String?) -> String {
        let what = configured == nil ? "\(error)" : "zoombuild.cfg's procfile_release: \(error)"
        return what + " (refused before the build; --param release=false deploys without running it"
            + (configured == nil ? ", and procfile_release in zoombuild.cfg replaces it (empty: none)" : "") + ")"
    }
}
