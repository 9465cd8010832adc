import DZSpool
import DZStore

/// Why a command could not do what it was asked, each with the message a user sees; the executable turns each into
/// its exit status (see dz(1)).
public enum ClientError: Error, Equatable, CustomStringConvertible {
    /// No such job, project or thing (exit 1).
    case notFound(String)
    /// The job ended but did not succeed (exit 1); the message is its summary line.
    case jobDidNotSucceed(JobDocument, summary: String)
    /// Still running after the time given (exit 75).
    case timedOut(String)
    /// A request that cannot be made as given (exit 64).
    case usage(String)
    /// A value that cannot be used (exit 65).
    case badInput(String)
    /// What is needed is not there, or not on this host (exit 69).
    case unavailable(String)
    /// The spool refused (its own exit status).
    case spool(SpoolError)

    public var description: String {
        switch self {
        case .notFound(let message), .timedOut(let message), .usage(let message), .badInput(let message),
             .unavailable(let message):
            message
        case .jobDidNotSucceed(_, let summary): summary
        case .spool(let error): error.description
        }
    }
}
