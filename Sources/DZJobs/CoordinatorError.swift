/// Why a coordinator cannot run, or must stop.
public enum CoordinatorError: Error, Equatable, CustomStringConvertible, Sendable {
    /// Another coordinator runs on this spool (its lease) or on this zoomdb (its lock).
    case anotherCoordinator(String)
    /// This coordinator stopped renewing its lease for too long and another took over: it stopped at once.
    case leaseLost(String)
    /// The zoomdb belongs to another spool.
    case wrongSpool(String)
    /// The zoomdb cannot be kept where it was asked for (a network file system), or an old one in the spool
    /// could not be moved out of it.
    case unsuitableDatabase(String)

    public var description: String {
        switch self {
        case .anotherCoordinator(let why), .leaseLost(let why), .wrongSpool(let why), .unsuitableDatabase(let why): why
        }
    }
}
