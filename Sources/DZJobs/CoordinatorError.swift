/// Why a coordinator cannot run, or must stop.
public enum CoordinatorError: Error, Equatable, CustomStringConvertible, Sendable {
    /// Another coordinator runs on this spool (its lease) or on this zoomdb (its lock).
    case anotherCoordinator(String)
    /// This coordinator stopped renewing its lease for too long and another took over: it stopped at once.
    case leaseLost(String)
    /// The zoomdb belongs to another spool.
    case wrongSpool(String)

    public var description: String {
        switch self {
        case .anotherCoordinator(let why), .leaseLost(let why), .wrongSpool(let why): why
        }
    }
}
