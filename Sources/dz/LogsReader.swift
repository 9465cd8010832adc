import ArgumentParser
import DZJobs
import DZSpool
import DZStore
import DZSystem

/// One round of `dz logs`: submits a `logs` job, waits for it quietly and returns its report. A job still running at
/// the time limit, or when the waiting is cancelled (SIGINT during `-f`), is cancelled too, so that no read is left
/// queued for an agent that does not answer; at the time limit the report holds what the other hosts returned
/// (`complete` false, the silent queues in `unanswered`).
struct LogsReader {
    let spool: Spool
    let database: DatabaseOptions
    let project: String
    let instance: String?
    let lines: Int
    let timeout: Double

    func read(since positions: [String: LogsReport.Position]) async throws -> LogsReport {
        var params: [String: JSONValue] = ["lines": .int(Int64(lines))]
        if let instance { params["instance"] = .string(instance) }
        if !positions.isEmpty { params["since"] = LogsReport.since(positions) }
        let id = try JobSubmission.submit("logs", project: project, params: params, spool: spool)
        do {
            let job = try await JobWaiter(spool: spool, database: database, jobID: id, timeout: timeout, quiet: true).run()
            return LogsReport(result: job.result ?? [:], project: project)
        } catch let error as ExitCode where error == ExitStatus.temporaryFailure {
            cancel(id, reason: "dz logs gave up waiting")
            guard let partial = partial(id) else { throw error }
            return partial
        } catch is CancellationError {
            cancel(id, reason: "dz logs was interrupted")
            throw CancellationError()
        }
    }

    /// What the job's finished steps returned, when the zoomdb can tell.
    private func partial(_ id: String) -> LogsReport? {
        guard let path = database.localPath(spool: spool), let db = try? ZoomDB(readOnlyAt: path),
              let job = try? db.job(id), let steps = try? db.steps(of: id) else { return nil }
        let facts = (try? LogsJob.kind.facts?(job, db)) ?? [:]
        return LogsReport(result: LogsJob.partialResult(job, steps: steps, facts: facts), project: project,
                          complete: false)
    }

    private func cancel(_ id: String, reason: String) {
        try? spool.cancel(id, reason: reason, isJob: true)
        if let request = try? JobRequest.cancel(job: id, reason: reason).taskFile(host: spool.host) {
            try? spool.drop(request, into: .jobs)
        }
    }
}
