import DZSpool
import DZSystem
import DZTelemetry
import Logging

/// What an agent tells the outside about itself: systemd's notifications (`READY=1` after the first scan,
/// `STATUS=` with its queues and running tasks, `WATCHDOG=1`, `STOPPING=1`) and its Prometheus metrics file.
///
/// Metrics (see Metrics in dz(1)): per queue the tasks waiting, deferred and running and the oldest due task's
/// age, from the queue's directories every `interval`; tasks ended by queue and outcome; the time from a task
/// being due to its start (pickup) and its run time, as histograms.
public final class AgentTelemetry: Sendable {
    public let notifier: ServiceNotifier?
    public let metricsFile: MetricsFile?
    public let metrics = MetricsRegistry()
    /// Seconds between status lines and metrics files.
    public let interval: Double
    let logger: Logger

    /// How a task's stay with this agent ended, the `outcome` label of `dz_tasks_total`.
    public enum Outcome: String, Sendable, CaseIterable {
        /// Succeeded, or failed for good, or sent back to retry later.
        case ok, failed, retried
        /// Stopped: its job was cancelled; given back unchanged at shutdown; its lease taken by another agent.
        case cancelled, released, leaseLost = "lease_lost"
        /// Not a task this agent can run (bad input, unknown task): moved to `failed/`.
        case rejected
    }

    public init(notifier: ServiceNotifier?, metricsFile: MetricsFile?, interval: Double = 10, logger: Logger) {
        self.notifier = notifier
        self.metricsFile = metricsFile
        self.interval = interval
        self.logger = logger
        metrics.declare("dz_tasks_total", .counter, help: "Tasks this agent ended, by queue and outcome.")
        metrics.declare("dz_task_pickup_seconds", .histogram,
                        help: "Seconds from a task being due (dropped, or its retry's backoff over) to its start.")
        metrics.declare("dz_task_run_seconds", .histogram, help: "Seconds a task's handler ran.")
        metrics.declare("dz_queue_tasks", .gauge, help: "Task files of a queue: waiting (due), deferred, running.")
        metrics.declare("dz_queue_oldest_task_age_seconds", .gauge,
                        help: "Seconds the oldest due task of a queue has waited (0 when none waits).")
        metrics.declare("dz_agent_running_tasks", .gauge, help: "Tasks this agent runs now.")
        metrics.declare("dz_agent_concurrency", .gauge, help: "Tasks this agent runs at most at once.")
        metrics.declare("dz_agent_start_time_seconds", .gauge, help: "When this agent started, in Unix seconds.")
        metrics.declare("dz_metrics_updated_time_seconds", .gauge,
                        help: "When this file was written, in Unix seconds (stale when the process hangs or died).")
    }

    /// Whether there is anything to do at all.
    public var isActive: Bool { notifier != nil || metricsFile != nil }

    func start(queues: [QueueName], concurrency: Int, started: Timestamp) {
        for queue in queues {
            for outcome in Outcome.allCases {
                metrics.touch("dz_tasks_total", ["queue": queue.rawValue, "outcome": outcome.rawValue])
            }
        }
        metrics.set("dz_agent_concurrency", to: Double(concurrency))
        metrics.set("dz_agent_start_time_seconds", to: started.seconds)
    }

    /// A task's stay ended.
    func ended(_ queue: QueueName, _ outcome: Outcome, pickup: Double? = nil, run: Double? = nil) {
        metrics.increment("dz_tasks_total", ["queue": queue.rawValue, "outcome": outcome.rawValue])
        if let pickup { metrics.observe("dz_task_pickup_seconds", ["queue": queue.rawValue], max(0, pickup)) }
        if let run { metrics.observe("dz_task_run_seconds", ["queue": queue.rawValue], max(0, run)) }
    }

    /// Reads the queues, then sends the status line and writes the metrics file; returns the status line.
    @discardableResult
    func update(spool: Spool, queues: [QueueName], running: Int, concurrency: Int) -> String {
        let now = Timestamp.now()
        var counts: [MetricsRegistry.Labels: Double] = [:]
        var ages: [MetricsRegistry.Labels: Double] = [:]
        var parts: [String] = []
        for queue in queues {
            let status = spool.status(of: queue, now: now)
            counts[["queue": queue.rawValue, "state": "waiting"]] = Double(status.waiting)
            counts[["queue": queue.rawValue, "state": "deferred"]] = Double(status.deferred)
            counts[["queue": queue.rawValue, "state": "running"]] = Double(status.running)
            ages[["queue": queue.rawValue]] = status.oldestWaiting ?? 0
            if queue != QueueName.host(spool.host) || status.waiting + status.running > 0 {
                parts.append("\(queue.rawValue) \(status.waiting) waiting")
            }
        }
        metrics.replace("dz_queue_tasks", with: counts)
        metrics.replace("dz_queue_oldest_task_age_seconds", with: ages)
        metrics.set("dz_agent_running_tasks", to: Double(running))
        metrics.set("dz_metrics_updated_time_seconds", to: now.seconds)
        let done = queues.reduce(0.0) { sum, queue in
            sum + (metrics.value("dz_tasks_total", ["queue": queue.rawValue, "outcome": Outcome.ok.rawValue]) ?? 0)
        }
        let line = "\(running)/\(concurrency) running; \(parts.joined(separator: ", ")); \(Int(done)) done ok"
        notifier?.status(line)
        writeMetrics()
        return line
    }

    /// Writes the metrics file now, if there is one.
    func writeMetrics() {
        guard let metricsFile else { return }
        do { try metricsFile.write(metrics.exposition()) } catch {
            logger.warning("metrics file not written", metadata: ["file": "\(metricsFile.path)", "error": "\(error)"])
        }
    }

    /// Pings the watchdog at its interval until cancelled (a hung loop stops the pings: systemd restarts us).
    func watchdogLoop() async {
        guard let notifier, let every = notifier.watchdogInterval else { return }
        while !Task.isCancelled {
            notifier.watchdog()
            do { try await Task.sleep(seconds: every) } catch { return }
        }
    }
}
