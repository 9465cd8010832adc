import Testing

@testable import DZTelemetry

/// The text exposition: what Prometheus's parser expects, byte for byte.
struct MetricsRegistryTests {
    @Test func countersGaugesAndHistogramsAreWrittenInTheTextFormat() {
        let metrics = MetricsRegistry()
        metrics.declare("dz_tasks_total", .counter, help: "Tasks.")
        metrics.declare("dz_queue_tasks", .gauge, help: "Files.")
        metrics.declare("dz_task_run_seconds", .histogram, help: "Run time.", buckets: [1, 0.1])
        metrics.touch("dz_tasks_total", ["queue": "build", "outcome": "failed"])
        metrics.increment("dz_tasks_total", ["queue": "build", "outcome": "ok"])
        metrics.increment("dz_tasks_total", ["queue": "build", "outcome": "ok"], by: 2)
        metrics.increment("dz_tasks_total", ["queue": "build", "outcome": "ok"], by: -5)
        metrics.set("dz_queue_tasks", ["queue": "build", "state": "waiting"], to: 4)
        metrics.observe("dz_task_run_seconds", ["queue": "build"], 0.05)
        metrics.observe("dz_task_run_seconds", ["queue": "build"], 0.5)
        metrics.observe("dz_task_run_seconds", ["queue": "build"], 7)
        #expect(metrics.exposition() == """
            # HELP dz_queue_tasks Files.
            # TYPE dz_queue_tasks gauge
            dz_queue_tasks{queue="build",state="waiting"} 4
            # HELP dz_task_run_seconds Run time.
            # TYPE dz_task_run_seconds histogram
            dz_task_run_seconds_bucket{le="0.1",queue="build"} 1
            dz_task_run_seconds_bucket{le="1",queue="build"} 2
            dz_task_run_seconds_bucket{le="+Inf",queue="build"} 3
            dz_task_run_seconds_sum{queue="build"} 7.55
            dz_task_run_seconds_count{queue="build"} 3
            # HELP dz_tasks_total Tasks.
            # TYPE dz_tasks_total counter
            dz_tasks_total{outcome="failed",queue="build"} 0
            dz_tasks_total{outcome="ok",queue="build"} 3

            """)
    }

    @Test func labelValuesAreEscaped() {
        #expect(MetricsRegistry.format(["q": "a\"b\\c\nd"]) == #"{q="a\"b\\c\nd"}"#)
        #expect(MetricsRegistry.format(Double.infinity) == "+Inf")
        #expect(MetricsRegistry.format(0.25) == "0.25")
    }

    @Test func aGaugeReplacedLosesTheSeriesNotGiven() {
        let metrics = MetricsRegistry()
        metrics.declare("g", .gauge, help: "G.")
        metrics.set("g", ["q": "a"], to: 1)
        metrics.replace("g", with: [["q": "b"]: 2])
        #expect(metrics.value("g", ["q": "a"]) == nil)
        #expect(metrics.value("g", ["q": "b"]) == 2)
    }
}
