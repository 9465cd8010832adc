import DZSpool
import DZStore
import DZSystem
import DZTelemetry
import Logging

/// What the coordinator tells the outside about itself: systemd's notifications (`READY=1` once it has recovered
/// and watches its queues, `STATUS=` with its queues and running jobs, `WATCHDOG=1`, `STOPPING=1`) and its
/// Prometheus metrics file (see Metrics in dz(1)): jobs ended by kind and outcome with their durations, the time
/// each intake takes (a step's result taken in and the next steps dropped: the coordinator's share of a step's
/// latency), and the depth of the `results` and `jobs` queues.
public final class CoordinatorTelemetry: Sendable {
    public let notifier: ServiceNotifier?
    public let metricsFile: MetricsFile?
    public let metrics = MetricsRegistry()
    /// Seconds between status lines and metrics files.
    public let interval: Double
    let logger: Logger

    public init(notifier: ServiceNotifier?, metricsFile: MetricsFile?, interval: Double = 10, logger: Logger) {
        self.notifier = notifier
        self.metricsFile = metricsFile
        self.interval = interval
        self.logger = logger
        metrics.declare("dz_jobs_total", .counter, help: "Jobs that ended, by kind and outcome (succeeded, failed, cancelled).")
        metrics.declare("dz_job_duration_seconds", .histogram,
                        help: "Seconds from a job's start to its end, by kind and outcome.")
        metrics.declare("dz_coordinator_intake_seconds", .histogram,
                        help: "Seconds the coordinator took to take in one file of a queue (a step's result, a "
                            + "request) and drop what follows from it (results taken in together: their batch's time).",
                        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5])
        metrics.declare("dz_queue_tasks", .gauge, help: "Task files of a queue: waiting (due), deferred, running.")
        metrics.declare("dz_queue_oldest_task_age_seconds", .gauge,
                        help: "Seconds the oldest due task of a queue has waited (0 when none waits).")
        metrics.declare("dz_coordinator_start_time_seconds", .gauge, help: "When the coordinator started, in Unix seconds.")
        metrics.declare("dz_metrics_updated_time_seconds", .gauge,
                        help: "When this file was written, in Unix seconds (stale when the process hangs or died).")
    }

    public var isActive: Bool { notifier != nil || metricsFile != nil }

    /// A job ended.
    func jobEnded(kind: String, outcome: String, seconds: Double?) {
        metrics.increment("dz_jobs_total", ["kind": kind, "outcome": outcome])
        if let seconds {
            metrics.observe("dz_job_duration_seconds", ["kind": kind, "outcome": outcome], max(0, seconds))
        }
    }

    /// One file of `queue` taken in.
    func intake(_ queue: QueueName, seconds: Double) {
        metrics.observe("dz_coordinator_intake_seconds", ["queue": queue.rawValue], seconds)
    }

    /// Reads the queues, sends the status line and writes the metrics file; returns the status line.
    @discardableResult
    func update(spool: Spool) -> String {
        let now = Timestamp.now()
        // The summary this coordinator published last (its own connection to the zoomdb is the loop's).
        let runningJobs = spool.published(directory: "", name: SummaryDocument.fileName)
            .flatMap { try? JSONValue.parse($0) }.flatMap { try? SummaryDocument(json: $0) }?.jobCounts[.running]
        var counts: [MetricsRegistry.Labels: Double] = [:]
        var ages: [MetricsRegistry.Labels: Double] = [:]
        var parts: [String] = []
        for queue in [QueueName.results, .jobs] {
            let status = spool.status(of: queue, now: now)
            counts[["queue": queue.rawValue, "state": "waiting"]] = Double(status.waiting)
            counts[["queue": queue.rawValue, "state": "deferred"]] = Double(status.deferred)
            counts[["queue": queue.rawValue, "state": "running"]] = Double(status.running)
            ages[["queue": queue.rawValue]] = status.oldestWaiting ?? 0
            parts.append("\(queue.rawValue) \(status.waiting) waiting")
        }
        metrics.replace("dz_queue_tasks", with: counts)
        metrics.replace("dz_queue_oldest_task_age_seconds", with: ages)
        metrics.set("dz_metrics_updated_time_seconds", to: now.seconds)
        let line = "\(runningJobs ?? 0) jobs running; " + parts.joined(separator: ", ")
        notifier?.status(line)
        if let metricsFile {
            do { try metricsFile.write(metrics.exposition()) } catch {
                logger.warning("metrics file not written", metadata: ["file": "\(metricsFile.path)", "error": "\(error)"])
            }
        }
        return line
    }

    /// Pings the watchdog at its interval until cancelled.
    func watchdogLoop() async {
        guard let notifier, let every = notifier.watchdogInterval else { return }
        while !Task.isCancelled {
            notifier.watchdog()
            do { try await Task.sleep(seconds: every) } catch { return }
        }
    }
}
