import DZSpool
import DZStore
import DZSystem

/// Follows a job through the document the coordinator publishes for it (`state/jobs/<id>.json`), from any host
/// that sees the spool, until it ends.
public struct JobWaiter: Sendable {
    /// What the waiter sees.
    public enum Event: Sendable {
        /// The request still waits in the jobs queue (no coordinator, or a busy one).
        case waitingForCoordinator
        /// The job's document changed.
        case update(JobDocument)
    }

    public let state: PublishedState
    public let jobID: String
    /// Give up (`ClientError.timedOut`) after this many seconds.
    public var timeout: Double?
    /// How often the document is read.
    public var pollInterval = 0.1
    /// How long a job may be neither waiting in the jobs queue nor published before it counts as unknown: the
    /// coordinator writes the document just after it takes the request, and another host may see it a moment later.
    public var unknownAfter = 10.0

    public init(state: PublishedState, jobID: String, timeout: Double? = nil) {
        self.state = state
        self.jobID = jobID
        self.timeout = timeout
    }

    /// Returns the job's document once it ended, however it ended; `observe` sees each change. Throws
    /// `ClientError` when the job cannot be followed (unknown, or still running after `timeout`), and
    /// `CancellationError` when the calling task is cancelled.
    public func wait(_ observe: (Event) -> Void = { _ in }) async throws -> JobDocument {
        try await wait(until: { $0.job.state.isFinal }, observe)
    }

    /// Returns the job's first document, as soon as the coordinator has taken the request in.
    public func published(_ observe: (Event) -> Void = { _ in }) async throws -> JobDocument {
        try await wait(until: { _ in true }, observe)
    }

    private func wait(until done: (JobDocument) -> Bool, _ observe: (Event) -> Void) async throws -> JobDocument {
        let start = Timestamp.now()
        var announcedWaiting = false
        var missingSince: Timestamp?
        var last: Timestamp?
        while true {
            if let timeout, Timestamp.now() - start > timeout {
                throw ClientError.timedOut("job \(jobID) still running after \(Int(timeout)) s")
            }
            if let document = try state.job(jobID) {
                missingSince = nil
                if document.published != last {
                    last = document.published
                    observe(.update(document))
                }
                if done(document) { return document }
            } else if state.spool.isPending(jobID, in: .jobs) {
                missingSince = nil
                if !announcedWaiting {
                    announcedWaiting = true
                    observe(.waitingForCoordinator)
                }
            } else {
                let since = missingSince ?? .now()
                missingSince = since
                if Timestamp.now() - since > unknownAfter { throw ClientError.notFound("no job \(jobID)") }
            }
            try await Task.sleep(seconds: pollInterval)
        }
    }

    /// Returns the job's document once it succeeded; throws `ClientError.jobDidNotSucceed` when it ended otherwise.
    public func run(_ observe: (Event) -> Void = { _ in }) async throws -> JobDocument {
        let document = try await wait(observe)
        guard document.job.state == .succeeded else {
            throw ClientError.jobDidNotSucceed(document, summary: Self.summary(document))
        }
        return document
    }

    /// The final line: the job, how it ended, in how long, and why.
    public static func summary(_ document: JobDocument) -> String {
        let job = document.job
        let elapsed = (job.finished ?? .now()) - (job.started ?? job.issuedAt)
        return "job \(job.id) \(job.state.rawValue) in \(TextFormat.tenths(elapsed))s" + (job.error.map { ": \($0)" } ?? "")
    }
}
