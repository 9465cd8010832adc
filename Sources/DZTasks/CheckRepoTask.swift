import DZJSON
import DZSpool

/// `check_repo` (queue `build`): check a project's repository out into the build host's working copy and inspect
/// it without running its code. Planned by `CheckRepoJob` (and as the first step of `BuildJob`), run by
/// `CheckRepoHandler`.
public enum CheckRepoTask: TaskContract {
    public static let name = "check_repo"

    public struct Arguments: TaskMessage, Equatable {
        public var project: ProjectID
        /// The repository's URL (checked by the handler: which schemes, local paths only where allowed).
        public var source: String
        /// A branch, tag or commit; nil: the remote's HEAD.
        public var rev: String?
        /// `git` (nil) or `hg`.
        public var vcs: String?
        /// The job's own zoombuild.cfg text: it decides the Python over the proposal's.
        public var zoombuildConfig: String?
        /// True in build jobs: a Python or a release command dz cannot provide fails the task.
        public var requirePython: Bool
        /// False when the release command will not run (`--param release=false`), so it is not checked.
        public var release: Bool

        public init(project: ProjectID, source: String, rev: String? = nil, vcs: String? = nil,
                    zoombuildConfig: String? = nil, requirePython: Bool = false, release: Bool = true)
        {
            self.project = project
            self.source = source
            self.rev = rev
            self.vcs = vcs
            self.zoombuildConfig = zoombuildConfig
            self.requirePython = requirePython
            self.release = release
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            project = try read.project()
            source = try read.string("source")
            rev = try read.optionalString("rev")
            vcs = try read.optionalString("vcs")
            zoombuildConfig = try read.optionalString("zoombuild_cfg")
            requirePython = try read.bool("require_python") ?? false
            release = try read.bool("release") ?? true
        }

        public var json: [String: JSONValue] {
            var object: [String: JSONValue] = ["project": .string(project.rawValue), "source": .string(source)]
            if let rev { object["rev"] = .string(rev) }
            if let vcs { object["vcs"] = .string(vcs) }
            if let zoombuildConfig { object["zoombuild_cfg"] = .string(zoombuildConfig) }
            if requirePython { object["require_python"] = .bool(true) }
            if !release { object["release"] = .bool(false) }
            return object
        }

        public static let keys = ["project", "source", "rev", "vcs", "zoombuild_cfg", "require_python", "release"]
    }

    /// The revision checked out.
    public struct Revision: Sendable, Equatable {
        public var vcs: String
        /// The full commit id.
        public var commit: String
        /// The first line of its message.
        public var subject: String

        public init(vcs: String, commit: String, subject: String) {
            self.vcs = vcs
            self.commit = commit
            self.subject = subject
        }

        public var json: JSONValue {
            .object(["vcs": .string(vcs), "commit": .string(commit), "subject": .string(subject)])
        }
    }

    /// One guess about how a project must be configured: a zoombuild.cfg field, a value, whether it is the primary
    /// guess for that field, and the basis (the repository file it came from, relative to the repository root). The
    /// inspector's own type too (`ConfigGuess`), as it reads them from its Python side.
    public struct Guess: Sendable, Equatable, Hashable {
        public var field: String
        public var value: String
        /// The inspector's best guess for the field.
        public var isPrimary: Bool
        /// The file it came from, relative to the repository, or empty.
        public var basis: String

        public init(field: String, value: String, isPrimary: Bool, basis: String) {
            self.field = field
            self.value = value
            self.isPrimary = isPrimary
            self.basis = basis
        }

        /// A guess object; nil without a field or a value.
        public init?(json: JSONValue) {
            guard let object = json.objectValue, let field = object["field"]?.stringValue,
                  let value = object["value"]?.stringValue else { return nil }
            self.init(field: field, value: value, isPrimary: object["is_primary"] == .bool(true),
                      basis: object["basis"]?.stringValue ?? "")
        }

        public var json: JSONValue {
            .object(["field": .string(field), "value": .string(value), "is_primary": .bool(isPrimary),
                     "basis": .string(basis)])
        }
    }

    /// What the inspection found. Only `zoombuild_cfg` is required of a result; the rest is read as far as it holds
    /// what it should (a guess without a field or value is left out, as before).
    public struct Output: TaskMessage, Equatable {
        /// The revision checked out (nil in a result without one: the build then takes the remote's HEAD).
        public var revision: Revision?
        public var guesses: [Guess]
        public var warnings: [String]
        public var skipped: [String]
        /// The proposed zoombuild.cfg, as text.
        public var zoombuildConfig: String
        /// The Python minor version a build here would use; nil when none fits.
        public var python: String?

        public init(revision: Revision?, guesses: [Guess], warnings: [String], skipped: [String],
                    zoombuildConfig: String, python: String?)
        {
            self.revision = revision
            self.guesses = guesses
            self.warnings = warnings
            self.skipped = skipped
            self.zoombuildConfig = zoombuildConfig
            self.python = python
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            revision = try read.object("revision").flatMap { object in
                object["commit"]?.stringValue.map {
                    Revision(vcs: object["vcs"]?.stringValue ?? "git", commit: $0,
                             subject: object["subject"]?.stringValue ?? "")
                }
            }
            guesses = (try read.array("guesses") ?? []).compactMap(Guess.init(json:))
            warnings = (try read.array("warnings") ?? []).compactMap(\.stringValue)
            skipped = (try read.array("skipped") ?? []).compactMap(\.stringValue)
            zoombuildConfig = try read.string("zoombuild_cfg")
            python = try read.optionalString("python")
        }

        public var json: [String: JSONValue] {
            var object: [String: JSONValue] = [
                "is_django": .bool(true), "guesses": .array(guesses.map(\.json)),
                "warnings": .array(warnings.map { .string($0) }), "skipped": .array(skipped.map { .string($0) }),
                "zoombuild_cfg": .string(zoombuildConfig), "python": python.map { .string($0) } ?? .null,
            ]
            if let revision { object["revision"] = revision.json }
            return object
        }

        public static let keys = ["revision", "is_django", "guesses", "warnings", "skipped", "zoombuild_cfg", "python"]
    }
}
