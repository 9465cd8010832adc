import DZSpool

/// A command's way to dz from any host that sees the spool: the spool, what the coordinator publishes there, and
/// the requests it may write into it.
public struct Client: Sendable {
    public let spool: Spool
    public let state: PublishedState
    public let requests: RequestSubmitter

    public init(spool: Spool, environment: [String: String]) {
        self.spool = spool
        state = PublishedState(spool: spool)
        requests = RequestSubmitter(spool: spool, environment: environment)
    }

    /// A waiter for job `id`.
    public func waiter(_ id: String, timeout: Double? = nil) -> JobWaiter {
        JobWaiter(state: state, jobID: id, timeout: timeout)
    }
}
