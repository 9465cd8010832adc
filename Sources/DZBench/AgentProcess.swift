import DZSpool
import DZSystem
import Foundation

/// A `dz agent` child process started by the benchmark.
final class AgentProcess {
    let process = Process()
    let host: String

    init(executable: String, spool: String, host: String, queues: String, fsync: Bool, concurrency: Int) throws {
        self.host = host
        process.executableURL = URL(fileURLWithPath: executable)
        var arguments = ["agent", "--spool", spool, "-Q", queues, "--host-id", host,
                         "--concurrency", String(concurrency), "--rescan", "1s", "--heartbeat", "200ms",
                         "--log-level", "warning"]
        if !fsync { arguments.append("--no-fsync") }
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
