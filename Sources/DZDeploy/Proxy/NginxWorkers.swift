import DZSystem

/// The worker processes of one running nginx, as `/proc` shows them, so that a reload can be waited for.
///
/// `nginx -s reload` only signals the master and returns; the master then starts new workers and tells the old
/// ones to stop, and an old worker keeps taking new connections until it has been told (its title then reads
/// `nginx: worker process is shutting down`). Until every old worker is told, a request can still reach the
/// upstreams of the previous configuration, which the deploy is about to stop.
struct NginxWorkers: Sendable {
    /// The `-c` configuration the master was started with, to tell it from other nginx masters on the host; nil
    /// for the host's default nginx.
    let conf: String?

    /// The pids of the workers that still accept new connections.
    func accepting() -> Set<Int32> {
        var masters = Set<Int32>()
        var workers: [(pid: Int32, parent: Int32)] = []
        for pid in ProcessTable.pids() {
            let title = ProcessTable.commandLine(of: pid).joined(separator: " ")
            if title.hasPrefix("nginx: master process") {
                if let conf, !title.contains(conf) { continue }
                masters.insert(pid)
            } else if title.hasPrefix("nginx: worker process"), !title.contains("shutting down"),
                      let parent = ProcessTable.status(of: pid)?.parent
            {
                workers.append((pid, parent))
            }
        }
        return Set(workers.filter { masters.contains($0.parent) }.map(\.pid))
    }

    /// Waits until none of `old` still accepts connections (each has exited or is shutting down), for at most
    /// `timeout` seconds; false when some still does.
    func waitUntilRetired(_ old: Set<Int32>, timeout: Double) async -> Bool {
        let deadline = Timestamp.now() + timeout
        while true {
            if old.isDisjoint(with: accepting()) { return true }
            if Timestamp.now() > deadline || Task.isCancelled { return false }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
    }
}
