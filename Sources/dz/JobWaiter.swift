import ArgumentParser
import DZSpool
import DZStore
import DZSystem
import Foundation
@preconcurrency import Glibc

/// Follows a job until it ends: a progress line redrawn in place on a terminal, plain lines otherwise (none when
/// `quiet`). Exit: 0 when the job succeeded, 1 when it failed or was cancelled (or is unknown).
struct JobWaiter {
    let spool: Spool
    let database: DatabaseOptions
    let jobID: String
    var timeout: Double? = nil
    /// No progress and no final line on standard output (`dz logs` and `dz manage` print only what they
    /// fetched); `run()` still reports a job that did not succeed on standard error.
    var quiet = false

    /// Returns the job once it succeeded; throws the exit status otherwise.
    @discardableResult
    func run() async throws -> JobRecord {
        let (job, _) = try await wait()
        if job.state != .succeeded {
            if quiet { complain(summary(job)) }
            throw ExitStatus.notFound
        }
        return job
    }

    /// The final line: the job, how it ended, in how long, and why.
    func summary(_ job: JobRecord) -> String {
        let elapsed = (job.finished ?? .now()) - (job.started ?? job.issuedAt)
        return "job \(jobID) \(job.state.rawValue) in \(format1(elapsed))s" + (job.error.map { ": \($0)" } ?? "")
    }

    /// Returns the job and its steps once it ended, however it ended; throws the exit status when it cannot be
    /// followed (unknown, or still running after `timeout`).
    func wait() async throws -> (JobRecord, [StepRecord]) {
        let terminal = !quiet && isatty(STDOUT_FILENO) == 1
        let start = Timestamp.now()
        var lastStates: [String: StepRecord.State] = [:]
        var announcedWaiting = false
        var missingSince: Timestamp?
        var openDB: ZoomDB?

        while true {
            if let timeout, Timestamp.now() - start > timeout {
                if terminal { print("") }
                complain("job \(jobID) still running after \(Int(timeout)) s")
                throw ExitStatus.temporaryFailure
            }
            if openDB == nil, let path = database.localPath(spool: spool) { openDB = try? ZoomDB(readOnlyAt: path) }
            guard let db = openDB, let job = try? db.job(jobID) else {
                // Not in the zoomdb yet: the request still waits in the jobs queue, or is being taken.
                let pending = spool.isPending(jobID, in: .jobs)
                if pending {
                    missingSince = nil
                    if !announcedWaiting, !quiet {
                        print("job \(jobID): waiting for the coordinator")
                        announcedWaiting = true
                    }
                } else {
                    let since = missingSince ?? Timestamp.now()
                    missingSince = since
                    if Timestamp.now() - since > 5 {
                        complain("no job \(jobID)")
                        throw ExitStatus.notFound
                    }
                }
                try await Task.sleep(nanoseconds: 200_000_000)
                continue
            }
            let steps = (try? db.steps(of: jobID)) ?? []
            let elapsed = Timestamp.now() - (job.started ?? job.issuedAt)
            if terminal {
                let done = steps.filter { $0.state.isFinal }.count
                let running = steps.filter { $0.state == .dispatched }.map(\.name)
                var line = "\(jobID) [\(done)/\(steps.count)] \(job.state.rawValue)"
                if let stopping = job.stopping, job.state == .running { line += " (\(stopping.rawValue))" }
                if !running.isEmpty { line += " running: " + running.joined(separator: ", ") }
                line += "  \(format1(elapsed))s"
                print("\r\u{1B}[K" + String(line.prefix(200)), terminator: "")
                fflush(nil)
            } else if !quiet {
                for step in steps where lastStates[step.name] != step.state {
                    lastStates[step.name] = step.state
                    print("\(Timestamp.now().rfc3339) \(step.name) \(step.state.rawValue)"
                        + (step.host.map { " on \($0)" } ?? "")
                        + (step.error.map { ": \($0)" } ?? ""))
                }
            }
            if job.state.isFinal {
                if terminal { print("") }
                if !quiet { print(summary(job)) }
                return (job, steps)
            }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
    }
}
