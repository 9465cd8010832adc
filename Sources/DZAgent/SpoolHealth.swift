import DZSpool
import DZSystem

/// Whether this agent can write its spool. After a write fails (a full disk, an I/O error, a permission taken
/// away) the agent stops claiming: workers wait here, and `probe` tries a small write with backoff until one
/// succeeds, then lets them go on. So a fault costs a pause, not a queue drained into `cur/`, and nothing waits
/// for a restart.
actor SpoolHealth {
    /// Why writes fail, while they do.
    private(set) var problem: String?
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var closed = false

    /// Records a failed write: claiming stops until `probe` succeeds.
    func failed(_ problem: String) {
        guard !closed else { return }
        self.problem = problem
    }

    /// Returns at once while the spool is writable, else when it is again (or the agent stops).
    func waitUntilWritable() async {
        guard problem != nil, !closed else { return }
        await withCheckedContinuation { waiters.append($0) }
    }

    /// Lets every waiter go: writes work again, or the agent stops.
    func recovered() {
        problem = nil
        let waiting = waiters
        waiters.removeAll()
        for waiter in waiting { waiter.resume() }
    }

    func close() {
        closed = true
        recovered()
    }

    /// While writes fail: tries one (a file written and removed in `queue`'s `tmp/`) every `interval` seconds,
    /// doubling up to `maxInterval`; returns true once it succeeded (and the waiters are let go).
    static func probe(_ spool: Spool, _ queue: QueueName, _ health: SpoolHealth, interval: Double = 0.25,
                      maxInterval: Double = 10) async -> Bool
    {
        var wait = interval
        while await health.problem != nil {
            do { try await Task.sleep(seconds: wait) } catch { return false }
            do {
                try spool.probeWrite(queue)
                await health.recovered()
                return true
            } catch {
                wait = min(wait * 2, maxInterval)
            }
        }
        return false
    }
}
