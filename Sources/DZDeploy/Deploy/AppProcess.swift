import DZSystem

/// A process of an app, as `/proc` shows it. The pid in a pid file is the app's to write, so dz never signals a
/// pid on its word alone: the process must run as the app's user, and a master must also carry the instance's
/// pid file on its command line (so a recycled pid, or another instance of the same app, is never taken for it).
package struct AppProcess: Sendable, Equatable {
    package let pid: Int32

    /// The process's ids and state, or nil when it does not exist.
    func status() -> ProcessTable.Status? { ProcessTable.status(of: pid) }

    /// Whether the process exists, is not a zombie, and runs as `uid` (really and effectively).
    func isLive(as uid: UInt32) -> Bool {
        guard let status = status() else { return false }
        return status.isRunning && status.realUID == uid && status.effectiveUID == uid
    }

    /// The process's arguments.
    package var arguments: [String] { ProcessTable.commandLine(of: pid) }

    /// Whether this is the live gunicorn master of the instance whose pid file is `pidFile`, running as `uid`: its
    /// command line names the pid file, or (renamed by setproctitle) reads `gunicorn: master [<instance>]`.
    func isMaster(uid: UInt32, pidFile: String) -> Bool {
        guard isLive(as: uid) else { return false }
        let arguments = self.arguments
        if let index = arguments.firstIndex(of: "--pid"), index + 1 < arguments.count {
            return arguments[index + 1] == pidFile
        }
        let instance = pidFile.split(separator: "/").last.map { String($0.dropLast(".pid".count)) } ?? ""
        return arguments.joined(separator: " ").hasPrefix("gunicorn: master [\(instance)]")
    }

    /// The live processes of `uid` that belong to the instance whose pid file is `pidFile`: its master and its
    /// workers (forked from the master, they carry the same command line, or `gunicorn: worker [<instance>]`).
    static func ofInstance(pidFile: String, uid: UInt32) -> [AppProcess] {
        let instance = pidFile.split(separator: "/").last.map { String($0.dropLast(".pid".count)) } ?? ""
        return ProcessTable.pids().map(AppProcess.init).filter {
            guard $0.isLive(as: uid) else { return false }
            let arguments = $0.arguments
            if let index = arguments.firstIndex(of: "--pid"), index + 1 < arguments.count {
                return arguments[index + 1] == pidFile
            }
            let title = arguments.joined(separator: " ")
            return title.hasPrefix("gunicorn: master [\(instance)]") || title.hasPrefix("gunicorn: worker [\(instance)]")
        }
    }

    /// Kills what is left of an instance whose master is gone: workers that have not yet noticed keep the
    /// listening socket and would keep a relaunched master from binding its port.
    static func killLeftovers(pidFile: String, uid: UInt32) async {
        let left = ofInstance(pidFile: pidFile, uid: uid)
        guard !left.isEmpty else { return }
        for process in left { process.signal(.kill, ifRunningAs: uid) }
        _ = await AppProcess(pid: 0).waitUntilGone(left, uid: uid, timeout: 10)
    }

    /// The live processes whose parent is this one and that run as `uid`: a master's workers.
    func children(uid: UInt32) -> [AppProcess] {
        ProcessTable.pids().map(AppProcess.init).filter {
            guard let status = $0.status() else { return false }
            return status.parent == pid && status.realUID == uid && status.state != "Z"
        }
    }

    /// Sends `signal` if the process still runs as `uid`; false when it does not or the signal could not be sent.
    @discardableResult
    func signal(_ signal: Signal, ifRunningAs uid: UInt32) -> Bool {
        guard isLive(as: uid) else { return false }
        do { try signal.send(to: pid) } catch { return false }
        return true
    }

    /// Stops a gunicorn master gracefully: SIGTERM (gunicorn lets workers finish their requests), then, if it is
    /// still there after `grace` seconds, SIGKILL to it and to the workers it had. Returns when all are gone or
    /// after a last bounded wait. Does nothing unless this is the instance's master (`isMaster`).
    func stopMaster(uid: UInt32, pidFile: String, grace: Double) async {
        guard isMaster(uid: uid, pidFile: pidFile) else { return }
        let workers = children(uid: uid)
        signal(.terminate, ifRunningAs: uid)
        if await waitUntilGone([self] + workers, uid: uid, timeout: grace) { return }
        for process in [self] + workers { process.signal(.kill, ifRunningAs: uid) }
        _ = await waitUntilGone([self] + workers, uid: uid, timeout: 10)
    }

    /// Polls until none of `processes` lives as `uid`, or `timeout` seconds pass; true when all are gone. Runs in
    /// a task of its own so that a cancelled caller still waits for the processes it signalled. Every 10 ms (a
    /// read of each one's `/proc` status): a redeploy's retire_old waits here for the old master, after the switch
    /// and before the job ends.
    func waitUntilGone(_ processes: [AppProcess], uid: UInt32, timeout: Double) async -> Bool {
        await Task {
            let deadline = Timestamp.now() + timeout
            while processes.contains(where: { $0.isLive(as: uid) }) {
                if Timestamp.now() >= deadline { return false }
                try? await Task.sleep(nanoseconds: 10_000_000)
            }
            return true
        }.value
    }
}
