import DZSpool
import DZSystem
import Foundation

/// A `dz agent` (or `dz coordinator`) child process started by the benchmark.
final class AgentProcess {
    let process = Process()
    let host: String

    init(executable: String, spool: String, host: String, queues: String, fsync: Bool, concurrency: Int,
         rescan: String = "1s", extra: [String] = []) throws
    {
        self.host = host
        var arguments = ["agent", "--spool", spool, "-Q", queues, "--host-id", host,
                         "--concurrency", String(concurrency), "--rescan", rescan, "--heartbeat", "200ms",
                         "--log-level", "warning"] + extra
        if !fsync { arguments.append("--no-fsync") }
        try start(executable, arguments)
    }

    /// A coordinator on `spool`.
    init(coordinatorOn spool: String, database: String, executable: String, fsync: Bool, extra: [String] = []) throws {
        host = "bench-coordinator"
        var arguments = ["coordinator", "--spool", spool, "--db", database, "--host-id", host, "--log-level", "warning"]
            + extra
        if !fsync { arguments.append("--no-fsync") }
        try start(executable, arguments)
    }

    private func start(_ executable: String, _ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// SIGTERM, then waits for the exit.
    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}
