/// Why `Spool.requeueFailed` did not put a failed task back; `description` is what `dz requeue` prints.
public enum RequeueRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// No failed copy of the id is in the queue's `failed/` (`location` is that directory, relative to the spool).
    case notFound(location: String)
    /// The failed copy could not be read.
    case unreadable
    /// The failed copy still is not a task: it stays in `failed/` for good.
    case stillBadInput(String)
    /// The task could not be dropped into `new/` again.
    case notDropped(SpoolError)

    public var description: String {
        switch self {
        case .notFound(let location): "not found in \(location)"
        case .unreadable: "unreadable"
        case .stillBadInput(let message): "still bad input: \(message)"
        case .notDropped(let error): error.description
        }
    }
}
