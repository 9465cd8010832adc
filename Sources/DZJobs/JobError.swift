/// A job-level failure: a request that lacks or misstates something, a project whose state does not allow the
/// job, a step's inputs that an earlier step's output cannot give, a job kind defined wrongly, or a coordinator
/// that cannot run. Each case carries the message a user reads (`dz job show`, the coordinator's log).
public enum JobError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The request lacks what the job needs (`build needs --project`).
    case missingInput(String)
    /// A parameter's value is not one the job accepts (a memory limit out of range, a malformed `argv`).
    case invalidParameter(String)
    /// The project's state does not allow the job (no release to roll back to, no running instance, a host name
    /// it already has).
    case refused(String)
    /// An earlier step's output, or a fact read for the job, lacks what a later step needs.
    case missingOutput(String)
    /// A job kind's step graph is inconsistent (a step declared twice, a cycle): a defect of dz, caught at start.
    case invalidDefinition(String)
    /// The coordinator could not start or keep running (its zoomdb's lock, its lease, its wake-up ring), or a
    /// benchmark's coordinator and agents did not start or finish.
    case coordinator(String)

    /// What a user reads.
    public var message: String {
        switch self {
        case .missingInput(let message), .invalidParameter(let message), .refused(let message),
             .missingOutput(let message), .invalidDefinition(let message), .coordinator(let message):
            message
        }
    }

    public var description: String { message }
}
