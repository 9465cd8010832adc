#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import DZSpool
import DZSystem
import Foundation
import Logging

/// Starts, finds and stops an app's gunicorn, daemonised so that it outlives the agent:
///
///     <bundle>/venv/bin/python -m gunicorn --daemon --pid <app>/run/<instance>.pid --bind fd://3
///         --workers W --name <instance> --no-control-socket --capture-output --error-logfile <app>/logs/<instance>.error.log
///         --access-logfile <app>/logs/<instance>.access.log --chdir <bundle>/src <wsgi>
///
/// inside the app's `Sandbox`, with the instance's runtime environment as its whole environment and the listening
/// socket this process holds for the instance (`InstanceListeners`) as descriptor 3. `python -m gunicorn`
/// because a venv's scripts do not work once moved; `--no-control-socket` because gunicorn's default control
/// socket path is shared by every instance on the host; `--name` so that a master is still recognised when the
/// app has setproctitle (gunicorn then renames it `gunicorn: master [<instance>]`). bwrap (and setpriv) exit as soon as gunicorn has
/// daemonised; the master's pid, the host's own, is then read from the pid file, and believed only once `/proc`
/// shows that pid running as the app's user with this pid file on its command line.
package struct InstanceLauncher: Sendable {
    let logger: Logger
    /// How long gunicorn may take to write its pid file after daemonising.
    var pidFileTimeout: Double = 30
    /// The pause between two looks for the pid file and for the master's `Listening at` line (10 ms): both come
    /// within a second, and each look is a small read.
    static let startPoll: UInt64 = 10_000_000

    package init(logger: Logger, pidFileTimeout: Double = 30) {
        self.logger = logger
        self.pidFileTimeout = pidFileTimeout
    }

    /// The gunicorn command of an instance (before the sandbox wraps it).
    package static func gunicornCommand(bundleDirectory: String, appDirectory: String, instance: String, workers: Int,
                                        wsgi: String) -> [String]
    {
        // The socket is the agent's, bound before anything of the app ran.
        return [bundleDirectory + "/venv/bin/python", "-m", "gunicorn", "--daemon",
                "--pid", appDirectory + "/run/" + instance + ".pid", "--bind", "fd://3", "--workers", String(workers),
                "--name", instance, "--no-control-socket", "--capture-output",
                "--error-logfile", appDirectory + "/logs/" + instance + ".error.log",
                "--access-logfile", appDirectory + "/logs/" + instance + ".access.log",
                "--chdir", bundleDirectory + "/src", wsgi]
    }

    /// Runs the record's `argv` with the instance's runtime environment and returns the new master's pid, or nil
    /// when gunicorn did not come up long enough to write its pid file (its error log says why).
    package func start(_ record: InstanceRecord, environment: RuntimeEnvironment, records: InstanceDirectory,
                       cgroups: AppCgroups, defaults: AppLimits) async throws(DeployError) -> Int32?
    {
        var stages = DeployStages()
        return try await start(record, environment: environment, records: records, cgroups: cgroups,
                               defaults: defaults, stages: &stages)
    }

    /// `start`, its stages lapped on `stages`: `spawn` (until gunicorn daemonised), `pid file`, `listening`.
    package func start(_ record: InstanceRecord, environment: RuntimeEnvironment, records: InstanceDirectory,
                       cgroups: AppCgroups, defaults: AppLimits, stages: inout DeployStages)
        async throws(DeployError) -> Int32?
    {
        let placement = try cgroups.placement(project: record.project, limits: record.limits ?? defaults)
        // Taken before the leftovers are killed: a worker still holding the socket is where an agent that started
        // again finds it.
        let socket = InstanceListeners.takesDescriptor(record.argv)
            ? try InstanceListeners.socket(for: record, records: records) : nil
        // Workers of a master that died still hold the port; a pid file it left names a pid that may be reused,
        // and gunicorn refuses to start when that pid is alive.
        await AppProcess.killLeftovers(pidFile: record.pidFile, uid: record.uid)
        removePidFile(record)
        let outcome: Subprocess.Outcome
        do {
            outcome = try await Subprocess.run(record.argv, environment: environment.forProcess,
                                               workingDirectory: "/", timeout: 120,
                                               passing: socket.map { [$0.descriptor] } ?? [], placement: placement)
        } catch {
            throw .launch("cannot start \(record.argv.first ?? "gunicorn"): \(error)")
        }
        guard outcome.succeeded else {
            let tail = Redaction.mask(outcome.tail(15), secrets: environment.secrets)
            throw .launch("gunicorn did not start (\(outcome.ending)):\n\(tail)")
        }
        stages.lap("spawn")
        let started = Timestamp.now()
        while true {
            if let pid = pidFromFile(record), AppProcess(pid: pid).isMaster(uid: record.uid, pidFile: record.pidFile) {
                stages.lap("pid file")
                try await awaitListening(record, master: pid, since: started)
                stages.lap("listening")
                return pid
            }
            let waited = Timestamp.now() - started
            if waited >= pidFileTimeout || Task.isCancelled { return nil }
            // Nothing of it runs any more (gunicorn exited at once): no pid file will come.
            if waited > 1, AppProcess.ofInstance(pidFile: record.pidFile, uid: record.uid).isEmpty { return nil }
            // Every deploy waits here: a short pause (a small file read) rather than up to 50 ms of lag.
            try? await Task.sleep(nanoseconds: Self.startPoll)
        }
    }

    /// The pid gunicorn wrote, or nil.
    func pidFromFile(_ record: InstanceRecord) -> Int32? {
        guard let run = try? DirectoryHandle.open(record.appDirectory).directory("run"),
              let bytes = try? run.read(record.instance + ".pid", limit: 64, ownedBy: record.uid) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let pid = Int32(text), pid > 1 else { return nil }
        return pid
    }

    /// The instance's live master: the recorded pid, else the pid file's (a master relaunched just before the
    /// agent stopped), each only if `/proc` confirms it.
    package func liveMaster(_ record: InstanceRecord) -> AppProcess? {
        for pid in [record.pid, pidFromFile(record) ?? 0] where pid > 1 {
            let process = AppProcess(pid: pid)
            if process.isMaster(uid: record.uid, pidFile: record.pidFile) { return process }
        }
        return nil
    }

    /// Waits until the instance answers as `requirement` asks (healthily by default), until `timeout` seconds
    /// pass, or until its master dies; returns the HTTP status it answered with.
    @discardableResult
    package func awaitHealthy(_ record: InstanceRecord, probe: HealthProbe, timeout: Double,
                              requirement: HealthProbe.Requirement = .healthy) async throws(DeployError) -> Int
    {
        let deadline = Timestamp.now() + timeout
        var last = HealthProbe.Result.noResponse("not checked")
        // A new instance mostly answers within a few probes: start at 25 ms (a fixed 250 ms wasted up to that much
        // of every deploy's time before the switch), doubling up to 250 ms for a slow one.
        var pause: UInt64 = 25_000_000
        while Timestamp.now() < deadline {
            if Task.isCancelled { throw .healthCheck("cancelled during the health check") }
            last = await probe.probe(timeout: min(5, max(1, deadline - Timestamp.now())))
            if last.meets(requirement) {
                if case .status(let code) = last { return code }
                if case .redirect(let code, _, _) = last { return code }
            }
            // A redirect off the site is the settings' answer, and will stay so: no point waiting.
            if case .redirect(let code, let location, let problem) = last, requirement == .healthy {
                throw .healthCheck("GET \(probe.path) (Host: \(probe.host)) answered \(code) -> \(location): \(problem)")
            }
            guard liveMaster(record) != nil else {
                throw .healthCheck("gunicorn exited before \(probe.path) answered")
            }
            try? await Task.sleep(nanoseconds: pause)
            pause = min(pause * 2, 250_000_000)
        }
        switch last {
        case .status(let code):
            throw .healthCheck("GET \(probe.path) (Host: \(probe.host)) answered \(code) for \(Int(timeout)) s")
        case .noResponse(let why):
            throw .healthCheck("GET \(probe.path) got no answer within \(Int(timeout)) s (\(why))")
        case .redirect(let code, let location, _):
            throw .healthCheck("GET \(probe.path) (Host: \(probe.host)) answered \(code) -> \(location) for \(Int(timeout)) s")
        }
    }

    /// Stops the instance's master (SIGTERM, SIGKILL after `grace`) and removes its pid file.
    package func stop(_ record: InstanceRecord, grace: Double) async {
        if let master = liveMaster(record) {
            logger.info("stopping instance", metadata: ["instance": "\(record.instance)", "pid": "\(master.pid)"])
            await master.stopMaster(uid: record.uid, pidFile: record.pidFile, grace: grace)
        }
        await AppProcess.killLeftovers(pidFile: record.pidFile, uid: record.uid)
        removePidFile(record)
    }

    /// Waits until the master logs that it listens (`Listening at: ... (<pid>)`, gunicorn's line once its socket
    /// is bound). A master that cannot bind retries for a few seconds and exits: an answer on the port would then
    /// come from whoever holds it, so the health check alone cannot tell.
    private func awaitListening(_ record: InstanceRecord, master pid: Int32, since started: Timestamp)
        async throws(DeployError)
    {
        let endpoint = record.address.contains(":") ? "[\(record.address)]:\(record.port)" : "\(record.address):\(record.port)"
        let line = Array("Listening at: http://\(endpoint) (\(pid))".utf8)
        while true {
            if let logs = try? DirectoryHandle.open(record.appDirectory).directory("logs"),
               let bytes = try? logs.read(record.errorLogName, limit: 64 << 10, ownedBy: record.uid),
               bytes.count >= line.count,
               (0...(bytes.count - line.count)).contains(where: { bytes[$0..<($0 + line.count)].elementsEqual(line) })
            {
                return
            }
            let master = AppProcess(pid: pid)
            if !master.isMaster(uid: record.uid, pidFile: record.pidFile) { throw .portInUse(endpoint) }
            if Task.isCancelled || Timestamp.now() - started > pidFileTimeout {
                await master.stopMaster(uid: record.uid, pidFile: record.pidFile, grace: 5)
                throw .portInUse(endpoint)
            }
            try? await Task.sleep(nanoseconds: Self.startPoll)
        }
    }

    /// The last lines of the instance's error log, with the app's secrets masked.
    package func errorLogTail(_ record: InstanceRecord, secrets: [String], lines: Int = 30) -> String {
        guard let logs = try? DirectoryHandle.open(record.appDirectory).directory("logs"),
              let bytes = try? logs.read(record.errorLogName, limit: 24 * 1024, ownedBy: record.uid)
        else { return "(no error log)" }
        return Redaction.mask(Self.lastError(String(decoding: bytes, as: UTF8.self), lines: lines), secrets: secrets)
    }

    /// The last traceback of `text` from the line before it (the record that logged it, `[time] [pid] [ERROR]
    /// django.request: ...`) to the end, when it starts within the last `3 * lines` lines: the error that failed a
    /// health check quoted whole, not from its middle nor after the end of an earlier one; else the last `lines`.
    static func lastError(_ text: String, lines: Int) -> String {
        let all = text.split(separator: "\n", omittingEmptySubsequences: false)
        var start = max(0, all.count - lines)
        if let traceback = all.lastIndex(where: { $0.hasPrefix("Traceback (most recent call last)") }),
           traceback >= all.count - 3 * lines
        {
            start = max(traceback - 1, 0)
        }
        return all[start...].joined(separator: "\n")
    }

    private func removePidFile(_ record: InstanceRecord) {
        try? DirectoryHandle.open(record.appDirectory).directory("run").unlink(record.instance + ".pid")
    }
}
