import DZAgent
import DZSpool
import DZSystem

/// `check_repo` (queue `build`): checks a project's repository out into the build host's reused working copy,
/// inspects it without running any of its code, and returns the revision, the config guesses, the warnings and
/// the proposed zoombuild.cfg. Arguments: `project`, `source` (URL), optional `rev` and `vcs` (`git`, `hg`).
public struct CheckRepoHandler: TaskHandler {
    public let name = "check_repo"
    public let workspace: Workspace
    public let checkout: SourceCheckout
    public let inspector: DjangoInspector
    /// Whether `file://` URLs and plain paths on this host may be checked out (`dz agent --allow-local-sources`).
    public let allowLocalSources: Bool

    /// `limits` bound the checkout as they bound a build's (a revision past `maxBundleSize` is refused before its
    /// files are written).
    public init(workspace: Workspace, allowLocalSources: Bool = false, limits: BuildLimits = BuildLimits(),
                checkout: SourceCheckout? = nil, inspector: DjangoInspector = DjangoInspector())
    {
        self.workspace = workspace
        self.allowLocalSources = allowLocalSources
        self.checkout = checkout ?? SourceCheckout(limits: limits)
        self.inspector = inspector
    }

    public func run(_ context: TaskContext) async throws -> [String: JSONValue] {
        let project = try context.project()
        let url = try context.source(allowLocal: allowLocalSources)
        let vcs = try context.vcs()
        let requested = try context.optionalString("rev")
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
        return [
            "revision": .object(["vcs": .string(revision.vcs.rawValue), "commit": .string(revision.commit),
                                 "subject": .string(revision.subject)]),
            "is_django": .bool(true),
            "guesses": .array(inspection.guesses.map(\.jsonValue)),
            "warnings": .array((inspection.warnings + rejected.map { "guess not used: \($0.error)" }).map { .string($0) }),
            "skipped": .array(inspection.skipped.map { .string($0) }),
            "zoombuild_cfg": .string(config.rendered(leftOut: rejected)),
        ]
    }
}

extension CheckoutError {
    /// A time-out may go away on another attempt; a missing repository or revision will not.
    var isTransient: Bool {
        if case .timedOut = self { return true }
        return false
    }
}
