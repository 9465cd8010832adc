import DZSystem

extension InstanceLauncher {
    /// How a change of an instance's worker count went: the workers `/proc` showed before and after.
    package struct WorkerChange: Sendable, Equatable {
        package var before: Int
        package var after: Int
    }

    /// Brings the number of workers of the instance's running master to `target` in place, as gunicorn allows:
    /// each SIGTTIN makes it fork one worker more, each SIGTTOU stop its oldest one (never the last).
    ///
    /// Workers are counted in `/proc` (the master's live children running as the app's user). Signals go one at
    /// a time, each only once the count has moved after the one before: the kernel merges a signal sent again
    /// before gunicorn has handled the first. The count must then hold at `target` for `settle` seconds (gunicorn
    /// also replaces workers that die, and a worker that died just as the counting began would otherwise be
    /// counted twice); if it drifts, the loop corrects it. Fails with `.workers` when `target` is not reached and
    /// held within `timeout` seconds (a SIGTTOU waits for the worker's requests to finish), and with `.notRunning`
    /// when the master exits meanwhile.
    package func scaleWorkers(_ record: InstanceRecord, master: AppProcess, to target: Int, timeout: Double,
                              settle: Double = 1) async throws(DeployError) -> WorkerChange
    {
        let deadline = Timestamp.now() + timeout
        let before = try workers(of: master, record)
        var settledSince: Timestamp?
        while true {
            let count = try workers(of: master, record)
            let now = Timestamp.now()
            if count == target {
                let since = settledSince ?? now
                settledSince = since
                if now - since >= settle || now >= deadline { return WorkerChange(before: before, after: count) }
                try? await Task.sleep(nanoseconds: 50_000_000)
                continue
            }
            settledSince = nil
            guard now < deadline, !Task.isCancelled else {
                throw .workers("instance \(record.instance) has \(count) workers after \(Int(timeout)) s, not "
                    + "\(target) (a stopping worker first finishes its requests; see its error log)")
            }
            let signal: Signal = count < target ? .ttin : .ttou
            guard master.signal(signal, ifRunningAs: record.uid) else { throw notRunning(record) }
            logger.debug("worker count signal sent", metadata: ["instance": "\(record.instance)",
                                                                "signal": "\(signal)", "workers": "\(count)"])
            while Timestamp.now() < deadline, !Task.isCancelled, try workers(of: master, record) == count {
                try? await Task.sleep(nanoseconds: 50_000_000)
            }
        }
    }

    /// The workers of `master` now; `.notRunning` once it is no longer the instance's master.
    private func workers(of master: AppProcess, _ record: InstanceRecord) throws(DeployError) -> Int {
        guard master.isMaster(uid: record.uid, pidFile: record.pidFile) else { throw notRunning(record) }
        return master.children(uid: record.uid).count
    }

    private func notRunning(_ record: InstanceRecord) -> DeployError {
        .notRunning("the gunicorn master of instance \(record.instance) exited while its workers were being changed")
    }
}
