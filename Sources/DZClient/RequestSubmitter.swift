import DZJobs
import DZSpool
import DZSystem

/// What a command asks of the coordinator, dropped into the spool's `jobs` queue on behalf of the user running it:
/// a job, a cancellation, a change of an app's environment. The only thing a command writes, from any host.
public struct RequestSubmitter: Sendable {
    public let spool: Spool
    /// Who asks, for the job's record: `user@host`.
    public let issuedBy: String

    public init(spool: Spool, environment: [String: String]) {
        self.spool = spool
        let user = environment["USER"] ?? environment["LOGNAME"] ?? "uid\(Host.effectiveUserID)"
        issuedBy = "\(user)@\(spool.host)"
    }

    /// Submits a job; returns its id.
    public func submit(_ kind: String, project: String?, params: [String: JSONValue]) throws(ClientError) -> String {
        if let problem = JobPolicy.problem(in: params) { throw .usage(problem) }
        let id = JobRequest.newJobID()
        try drop(JobRequest.submit(id: id, kind: kind, project: project, params: params, issuedBy: issuedBy))
        return id
    }

    /// Asks for a job to be cancelled: a tombstone every agent checks (`cancel/<id>`), and a request that has the
    /// coordinator stop dispatching and withdraw the job's waiting tasks.
    public func cancel(_ job: String, reason: String) throws(ClientError) {
        do { try spool.cancel(job, reason: reason, isJob: true) } catch { throw .spool(error) }
        try drop(JobRequest.cancel(job: job, reason: reason))
    }

    /// Asks for the app's environment to change (see `JobRequest.configure`): the values travel in the request
    /// file only until the coordinator has recorded them in the zoomdb, which then removes them from it. Returns
    /// the id of the config job that reports the outcome.
    public func configure(project: String, set: [String: String], unset: [String], restart: Bool)
        throws(ClientError) -> String
    {
        let change = ConfigChange(set: set, unset: unset, restart: restart)
        if let problem = change.problem { throw .usage(problem) }
        let id = JobRequest.newJobID()
        try drop(JobRequest.configure(id: id, project: project, change: change, issuedBy: issuedBy))
        return id
    }

    private func drop(_ request: JobRequest) throws(ClientError) {
        do { try spool.drop(try request.taskFile(host: spool.host), into: .jobs) } catch { throw .spool(error) }
    }
}
