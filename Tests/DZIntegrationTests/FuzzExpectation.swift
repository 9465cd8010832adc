import DZSpool
import Foundation

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Where a fuzzed file may end, once the agent and the coordinator have done with it, and what must come with it.
///
/// Computed by `expect` from the file as the generator made it: its name and kind by dz-spool(5)'s rules
/// (`FuzzSpec`), its bytes by dz's own readers (`TaskFile`, `ResultFile`: what they accept is exactly what the
/// processes must treat as valid), and what a valid task's handler does by dz(1)'s description of `noop`, `echo`,
/// `fail` and `sleep`.
struct FuzzExpectation: CustomStringConvertible {
    enum Place: Hashable, CustomStringConvertible {
        /// In `new/` under its name, untouched: a name that is not considered, or a deferral.
        case stays
        /// In `failed/` with a reason of this kind.
        case rejected(String)
        /// In `done/`; for a task, with an ok result delivered (carrying `output` when set).
        case done
        /// A task in `failed/` with an error result of this kind delivered, and a reason of that kind ("*": any).
        case failedTask(String)
        /// A task back in `new/` for a later attempt (its attempt grew).
        case requeued

        var description: String {
            switch self {
            case .stays: "stays in new/"
            case .rejected(let kind): "rejected (\(kind))"
            case .done: "done"
            case .failedTask(let kind): "failed with a result (\(kind))"
            case .requeued: "requeued"
            }
        }
    }

    var places: Set<Place>
    /// Tasks that run: their id, reply queue, attempt, and (echo) the output an ok result carries.
    var task: TaskFile?
    var output: [String: JSONValue]?
    /// Requests: the job the zoomdb must hold afterwards, and whether it must have failed at intake.
    var job: (id: String, failed: Bool)?

    init(_ places: Set<Place>) { self.places = places }

    var description: String { places.map(\.description).sorted().joined(separator: " or ") }

    /// What the oracle needs to know of the run.
    struct Context {
        /// The spool root with every link resolved.
        let root: String
        let now: Double
        /// The agent's `--task-timeout`.
        let taskTimeout: Double
        /// Jobs the coordinator had taken in before the second wave.
        let knownJobs: Set<String>
    }

    // MARK: names and kinds

    static func expect(_ file: FuzzFile, _ context: Context) -> FuzzExpectation {
        guard let name = file.nameText else { return FuzzExpectation([.rejected("name")]) }
        guard FuzzSpec.isConsidered(name) else { return FuzzExpectation([.stays]) }
        let deferrable = file.inbox != .results
        if deferrable, case .bytes = file.shape, let mtime = file.mtime, mtime > context.now + 0.5,
           mtime <= context.now + FuzzSpec.maxDeferral
        {
            return FuzzExpectation([.stays])
        }
        let stem = String(name.dropLast(5))
        guard FuzzSpec.isTaskID(stem) else { return FuzzExpectation([.rejected("name")]) }
        let bytes: [UInt8]
        switch file.shape {
        case .fifo, .directory:
            return FuzzExpectation([.rejected("not-a-file")])
        case .symlink(let target):
            switch read(link: target, in: file.inbox.queue, context) {
            case .success(let content): bytes = content
            case .failure(let bad): return FuzzExpectation([.rejected(bad.kind)])
            }
        case .bytes(let content):
            guard content.count <= TaskFile.maxSize else { return FuzzExpectation([.rejected("too-large")]) }
            bytes = content
        }
        switch file.inbox {
        case .tasks: return expectTask(bytes, stem: stem, context)
        case .results:
            do {
                _ = try ResultFile(parsing: bytes)
                return FuzzExpectation([.done])
            } catch {
                return FuzzExpectation([.rejected(error.kind)])
            }
        case .requests: return expectRequest(bytes, stem: stem, context)
        }
    }

    /// What reading a symbolic link finds (dz-spool(5), Bad input): its target, resolved from where it lies; a
    /// missing target or one outside the spool is kind `symlink`, one that is not a regular file `not-a-file`.
    static func read(link target: FuzzFile.LinkTarget, in queue: String, _ context: Context) -> Result<[UInt8], BadInput> {
        let path: String
        switch target {
        case .outside(let absolute): path = absolute
        case .inSpool(let relative): path = context.root + "/" + relative
        case .relative("SELF"): return .failure(BadInput("symlink", "a link to itself"))
        case .relative(let text): path = context.root + "/" + queue + "/cur/" + text
        }
        guard let resolved = realpath(path, nil) else { return .failure(BadInput("symlink", "missing")) }
        let target = String(cString: resolved)
        free(resolved)
        guard target.hasPrefix(context.root + "/") else { return .failure(BadInput("symlink", "outside")) }
        var status = stat()
        guard stat(target, &status) == 0 else { return .failure(BadInput("symlink", "missing")) }
        guard status.st_mode & S_IFMT == S_IFREG else { return .failure(BadInput("not-a-file", "not regular")) }
        guard status.st_size <= TaskFile.maxSize else { return .failure(BadInput("too-large", "large")) }
        return .success([UInt8](FileManager.default.contents(atPath: target) ?? Data()))
    }

    // MARK: tasks

    /// A task file in the agent's queue: rejected as its reader says, deferred by `not_before`, or run.
    static func expectTask(_ bytes: [UInt8], stem: String, _ context: Context) -> FuzzExpectation {
        let task: TaskFile
        do { task = try TaskFile(parsing: bytes, stem: stem) } catch { return FuzzExpectation([.rejected(error.kind)]) }
        if task.replyTo.rawValue == "build" || task.replyTo.rawValue == "jobs" {
            return FuzzExpectation([.rejected("field")])
        }
        var places: Set<Place> = []
        if let deferral = deferral(task, context) {
            places = deferral.places
            guard deferral.mayRun else { return FuzzExpectation(places) }
        }
        var expectation = run(task, context)
        expectation.places.formUnion(places)
        return expectation
    }

    /// What `not_before` does: nil when it lets the task run now; else where the task stays, and whether it may
    /// also have run (a time close to the run's own, or to the limit of a year).
    static func deferral(_ task: TaskFile, _ context: Context) -> (places: Set<Place>, mayRun: Bool)? {
        guard let notBefore = task.notBefore?.seconds else { return nil }
        let limit = context.now + FuzzSpec.maxDeferral
        if notBefore > limit + 600 { return ([.rejected("field")], false) }
        if notBefore > limit - 600 { return ([.rejected("field"), .stays], false) }
        if notBefore > context.now + 5 { return ([.stays], false) }
        if notBefore > context.now - 180 { return ([.stays], true) }
        return nil
    }

    /// What the handler does with a valid task (dz(1)): `noop` succeeds; `echo` returns its arguments (an error
    /// result of kind `output-too-large` past 1 MiB); `fail` fails (bad-args for a message that is not a string),
    /// and is retried while attempts remain when `retryable` is true, "true", "1" or "yes"; `sleep` sleeps
    /// `seconds` (a number or a string that spells one, 0 to 86400, default 1), and a sleep past the time limit
    /// times out, which is retried. A time limit under half a second may cut any handler short. Other handlers of
    /// dz(1) may end either way; an unknown name is rejected.
    static func run(_ task: TaskFile, _ context: Context) -> FuzzExpectation {
        let limit = task.timeoutSeconds ?? context.taskTimeout
        let retries = task.attempt < task.maxAttempts
        var places: Set<Place> = []
        var output: [String: JSONValue]?
        func timesOut() {
            places.insert(.failedTask("timeout"))
            if retries { places.insert(.requeued) }
        }
        switch task.task {
        case "noop":
            places.insert(.done)
        case "echo":
            output = task.args
            let size = JSONValue.object(task.args).serialized().count + (task.job?.utf8.count ?? 0)
                + (task.step?.utf8.count ?? 0) + task.task.utf8.count
            if size < TaskFile.maxSize - 1000 { places.insert(.done) }
            if size > TaskFile.maxSize - 2000 { places.insert(.failedTask("output-too-large")) }
        case "fail":
            switch task.args["message"] {
            case nil, .null?, .string?:
                places.insert(.failedTask("failed"))
                var retryable = false
                switch task.args["retryable"] {
                case .bool(let flag)?: retryable = flag
                case .string(let text)?: retryable = ["true", "1", "yes"].contains(text)
                default: break
                }
                if retryable, retries { places.insert(.requeued) }
            default:
                places.insert(.failedTask("bad-args"))
            }
        case "sleep":
            let seconds: Double?
            switch task.args["seconds"] {
            case nil, .null?: seconds = 1
            case .int(let whole)?: seconds = Double(whole)
            case .double(let fraction)?: seconds = fraction
            case .string(let text)?: seconds = Double(text)
            default: seconds = nil
            }
            guard let seconds, seconds.isFinite, seconds >= 0, seconds <= 86_400 else {
                places.insert(.failedTask("bad-args"))
                break
            }
            if seconds < limit * 4 { places.insert(.done) }
            if seconds >= limit / 4 { timesOut() }
        case let name where FuzzSpec.handlers.contains(name):
            places = [.done, .failedTask("*"), .requeued]
        default:
            return FuzzExpectation([.rejected("unknown-task")])
        }
        if limit < 0.5, !places.contains(.failedTask("bad-args")) { timesOut() }
        var expectation = FuzzExpectation(places)
        expectation.task = task
        expectation.output = output
        return expectation
    }

    // MARK: requests

    /// A job request: rejected as the task reader says, deferred like a task, else taken in: `submit_job` needs a
    /// string `args.kind` (and a valid `args.project` if it names one as a string), a kind of dz(1) (else kind
    /// `unknown-kind`, the job recorded as failed), and usable policy parameters (else `bad-param`, likewise);
    /// `cancel_job` needs a valid `args.job` (else `field`) of a job the coordinator knows (else `not-found`).
    static func expectRequest(_ bytes: [UInt8], stem: String, _ context: Context) -> FuzzExpectation {
        let task: TaskFile
        do { task = try TaskFile(parsing: bytes, stem: stem) } catch { return FuzzExpectation([.rejected(error.kind)]) }
        if task.replyTo.rawValue == "jobs" { return FuzzExpectation([.rejected("field")]) }
        if let deferral = deferral(task, context) {
            guard deferral.mayRun else { return FuzzExpectation(deferral.places) }
            var expectation = intake(task, context)
            expectation.places.formUnion(deferral.places)
            expectation.job = nil
            return expectation
        }
        return intake(task, context)
    }

    static func intake(_ task: TaskFile, _ context: Context) -> FuzzExpectation {
        switch task.task {
        case "submit_job":
            guard case .string(let kind)? = task.args["kind"] else { return FuzzExpectation([.rejected("field")]) }
            if case .string(let project)? = task.args["project"], !FuzzSpec.isProjectID(project) {
                return FuzzExpectation([.rejected("field")])
            }
            var expectation: FuzzExpectation
            if !FuzzSpec.jobKinds.contains(kind) {
                expectation = FuzzExpectation([.rejected("unknown-kind")])
            } else if case .object(let params)? = task.args["params"], FuzzSpec.policyProblem(params) != nil {
                expectation = FuzzExpectation([.rejected("bad-param")])
            } else {
                expectation = FuzzExpectation([.done])
            }
            expectation.job = (task.id.rawValue, !expectation.places.contains(.done))
            return expectation
        case "cancel_job":
            guard case .string(let job)? = task.args["job"], FuzzSpec.isTaskID(job) else {
                return FuzzExpectation([.rejected("field")])
            }
            return FuzzExpectation(context.knownJobs.contains(job) ? [.done] : [.rejected("not-found")])
        default:
            return FuzzExpectation([.rejected("unknown-task")])
        }
    }
}
