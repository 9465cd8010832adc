import DZSpool
import DZStore
import DZSystem
import Logging

/// Results: recording steps' ends and planning their jobs' next steps.
extension CoordinatorEngine {
    /// Takes in a batch of results: each taken from `new/` and read, their effects (the steps' ends, the jobs'
    /// next steps) recorded in one transaction, the next steps' tasks dropped, and only then the results retired
    /// to `done/`. A crash before the commit leaves them in `cur/`, put back at the next start; after it, the
    /// steps are final and a result seen again is retired as a duplicate.
    func intakeResults(_ names: [String]) throws {
        var taken: [(file: TakenFile, result: ResultFile)] = []
        taken.reserveCapacity(names.count)
        for name in names {
            guard let file = try spool.take(name, in: .results) else { continue }
            do { taken.append((file, try ResultFile(parsing: file.bytes))) } catch {
                try spool.retire(file, failure: error)
            }
        }
        guard !taken.isEmpty else { return }
        let next = try db.transaction { () throws -> [StepRecord] in
            var jobs: [String] = []
            var seen = Set<String>()
            // Each job read once for all of its results in the batch (no step's record changes the job's row).
            var known: [String: JobRecord?] = [:]
            for (_, result) in taken {
                guard var step = try db.step(taskID: result.id.rawValue) else { continue }
                guard !step.state.isFinal else {
                    logger.debug("duplicate result ignored", metadata: ["task": "\(result.id)"])
                    continue
                }
                apply(result, to: &step)
                if step.state == .succeeded {
                    if known[step.job] == nil { known[step.job] = .some(try db.job(step.job)) }
                    try record(&step, of: known[step.job] ?? nil)
                }
                try db.update(step)
                try db.log(step.job, .stepEnd, stepEndMessage(step))
                if seen.insert(step.job).inserted { jobs.append(step.job) }
            }
            // Each job planned once for all of its results in the batch.
            var next: [StepRecord] = []
            for job in jobs { next += try advance(job) }
            return next
        }
        dispatch(next)
        // Together: one fsync of `done/`'s day directory for the batch.
        try spool.retire(taken.map(\.file))
    }

    private func apply(_ result: ResultFile, to step: inout StepRecord) {
        step.attempt = result.attempt
        step.host = result.host.rawValue
        step.started = result.started
        step.finished = result.finished
        switch result.status {
        case .ok:
            step.state = .succeeded
            step.output = result.output
        case .error:
            step.state = result.error?.kind == "cancelled" ? .cancelled : .failed
            step.errorKind = result.error?.kind
            step.error = result.error?.message
        }
    }

    /// Lets the step's definition record what it produced; a failure to record fails the step.
    private func record(_ step: inout StepRecord, of job: JobRecord?) throws {
        guard step.state == .succeeded, let job,
              let definition = catalog.kind(job.kind)?.step(step.definition), let onSuccess = definition.onSuccess
        else { return }
        changes.projectChanged(job.project)
        changes.summaryChanged()
        do {
            try onSuccess(job, step, db)
            // What was secret in the output (a database password) has been recorded where it belongs; the step's
            // own copy, which `dz job show` prints, keeps only a mask.
            step.output = step.output.map(Redaction.maskedOutput)
        } catch let failure as StepFailure {
            // The step's own verdict on its output (a command's exit status): the output stays as it was.
            step.state = .failed
            step.errorKind = failure.kind
            step.error = failure.message
        } catch {
            step.state = .failed
            step.errorKind = "record"
            step.error = "could not record the step's output: \(error)"
        }
    }

    private func stepEndMessage(_ step: StepRecord) -> String {
        var text = "\(step.name) \(step.state.rawValue)"
        if let host = step.host { text += " on \(host)" }
        if let attempt = step.attempt { text += " (attempt \(attempt)/\(step.maxAttempts))" }
        if let started = step.started, let finished = step.finished {
            text += " in \(Int(((finished - started) * 1000).rounded())) ms"
        }
        if step.state != .succeeded, let error = step.error { text += ": \(step.errorKind ?? "error"): \(error)" }
        return text
    }
}
