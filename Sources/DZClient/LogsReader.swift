import DZJobs
import DZSpool
import DZStore

/// One round of `dz logs`: submits a `logs` job, waits for it and returns its report. A job still running at the
/// time limit, or when the waiting is cancelled (SIGINT during `-f`), is cancelled too, so that no read is left
/// queued for an agent that does not answer; at the time limit the report holds what the other hosts returned
/// (`complete` false, the silent queues in `unanswered`), worked out from the job's published document and its
/// project's (which instances it reads), as the job's own result would be.
public struct LogsReader: Sendable {
    public let requests: RequestSubmitter
    public let state: PublishedState
    public let project: String
    public let instance: String?
    public let lines: Int
    public let timeout: Double

    public init(requests: RequestSubmitter, state: PublishedState, project: String, instance: String?, lines: Int,
                timeout: Double)
    {
        self.requests = requests
        self.state = state
        self.project = project
        self.instance = instance
        self.lines = lines
        self.timeout = timeout
    }

    public func read(since positions: [String: LogsReport.Position]) async throws -> LogsReport {
        var params: [String: JSONValue] = ["lines": .int(Int64(lines))]
        if let instance { params["instance"] = .string(instance) }
        if !positions.isEmpty { params["since"] = LogsReport.since(positions) }
        let id = try requests.submit("logs", project: project, params: params)
        do {
            let document = try await JobWaiter(state: state, jobID: id, timeout: timeout).run()
            return LogsReport(result: document.job.result ?? [:], project: project)
        } catch let error as ClientError {
            guard case .timedOut = error else { throw error }
            try? requests.cancel(id, reason: "dz logs gave up waiting")
            guard let partial = partial(id) else { throw error }
            return partial
        } catch is CancellationError {
            try? requests.cancel(id, reason: "dz logs was interrupted")
            throw CancellationError()
        }
    }

    /// What the job's finished steps returned, from its published document.
    private func partial(_ id: String) -> LogsReport? {
        guard let document = try? state.job(id) else { return nil }
        let active = ((try? state.project(project)) ?? nil)?.active.filter { $0.job != id } ?? []
        let facts: [String: JSONValue] = ["active": .array(active.map { .object($0.jsonObject) })]
        return LogsReport(result: LogsJob.partialResult(document.job, steps: document.steps, facts: facts),
                          project: project, complete: false)
    }
}
