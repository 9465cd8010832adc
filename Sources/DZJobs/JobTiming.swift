import DZSpool
import DZSystem
import DZStore

/// Where a finished job's time went: in its steps (the agents' work) or between them (queues, the coordinator).
public struct JobTiming: Sendable, Equatable {
    /// From the job's start to its end.
    public var total: Double
    /// The steps' run times added up (parallel steps count each).
    public var stepsSum: Double
    /// The time during which at least one step ran.
    public var busy: Double

    /// The time no step ran: dispatch, queues, result intake, planning.
    public var overhead: Double { max(0, total - busy) }

    /// The timing of a finished job; nil while it runs.
    public init?(_ job: JobRecord, _ steps: [StepRecord]) {
        guard let start = job.started, let end = job.finished else { return nil }
        total = end - start
        let intervals = steps.compactMap { step -> (Timestamp, Timestamp)? in
            guard let started = step.started, let finished = step.finished, finished >= started else { return nil }
            return (started, finished)
        }.sorted { $0.0 < $1.0 }
        stepsSum = intervals.reduce(0) { $0 + ($1.1 - $1.0) }
        var busy = 0.0
        var current: (Timestamp, Timestamp)?
        for interval in intervals {
            if let open = current, interval.0 <= open.1 {
                current = (open.0, max(open.1, interval.1))
            } else {
                if let open = current { busy += open.1 - open.0 }
                current = interval
            }
        }
        if let open = current { busy += open.1 - open.0 }
        self.busy = busy
    }

    public var jsonObject: [String: JSONValue] {
        func rounded(_ value: Double) -> JSONValue { .double((value * 1000).rounded() / 1000) }
        return ["total_s": rounded(total), "steps_sum_s": rounded(stepsSum), "busy_s": rounded(busy),
                "overhead_s": rounded(overhead)]
    }
}
