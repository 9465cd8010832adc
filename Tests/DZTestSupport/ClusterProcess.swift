import Foundation
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A process a `Cluster` started on one of its hosts (`ip netns exec <namespace> ...`, which execs the program, so
/// the pid is the program's), its standard output and error going to files in the cluster's log directory.
public final class ClusterProcess: @unchecked Sendable {
    public let host: ClusterHost
    public let label: String
    public let arguments: [String]
    public let outputPath: String
    public let errorPath: String
    private let process: Process

    init(host: ClusterHost, label: String, launcher: [String], arguments: [String], environment: [String: String],
         logDirectory: String, stdin: [UInt8]? = nil) throws
    {
        self.host = host
        self.label = label
        self.arguments = arguments
        let unique = "\(host.name).\(label).\(UInt32.random(in: 0...UInt32.max))"
        outputPath = logDirectory + "/" + unique + ".out"
        errorPath = logDirectory + "/" + unique + ".err"
        let manager = FileManager.default
        guard manager.createFile(atPath: outputPath, contents: nil), manager.createFile(atPath: errorPath, contents: nil),
              let output = FileHandle(forWritingAtPath: outputPath), let error = FileHandle(forWritingAtPath: errorPath)
        else { throw Cluster.Failure("cannot create the output files of \(label) in \(logDirectory)") }
        defer {
            try? output.close()
            try? error.close()
        }
        var input: FileHandle?
        if let stdin {
            let inputPath = logDirectory + "/" + unique + ".in"
            guard manager.createFile(atPath: inputPath, contents: Data(stdin)),
                  let handle = FileHandle(forReadingAtPath: inputPath)
            else { throw Cluster.Failure("cannot create the standard input of \(label)") }
            input = handle
        }
        defer { try? input?.close() }
        process = Process()
        process.executableURL = URL(fileURLWithPath: launcher[0])
        process.arguments = Array(launcher.dropFirst()) + arguments
        process.environment = environment
        process.standardInput = input ?? FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = error
        do { try process.run() } catch {
            throw Cluster.Failure("cannot start \(arguments.joined(separator: " ")) on \(host.name): \(error)")
        }
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    /// The exit status once it has exited normally; nil while it runs or when a signal ended it.
    public var exitStatus: Int32? {
        guard !process.isRunning, process.terminationReason == .exit else { return nil }
        return process.terminationStatus
    }

    /// How it ended, for messages.
    public var ending: String {
        if process.isRunning { return "still running" }
        switch process.terminationReason {
        case .exit: return "exit status \(process.terminationStatus)"
        case .uncaughtSignal: return "killed by signal \(process.terminationStatus)"
        @unknown default: return "ended (\(process.terminationStatus))"
        }
    }

    public var standardOutput: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
    public var standardError: String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }

    /// The last lines of its standard error, for failure messages.
    public var errorTail: String {
        let lines = standardError.split(separator: "\n", omittingEmptySubsequences: false)
        return "[\(label) on \(host.name), pid \(pid), \(ending)] stderr:\n" + lines.suffix(20).joined(separator: "\n")
    }

    /// Sends `signal` if it still runs.
    public func send(_ signal: Int32) {
        if process.isRunning { _ = Glibc.kill(process.processIdentifier, signal) }
    }

    /// Waits (polling) until it has exited; false if it still runs after `timeout` seconds.
    public func waitForExit(timeout: Double) async -> Bool {
        await Cluster.poll(timeout: timeout, every: 0.02) { !self.process.isRunning }
    }

    /// SIGKILL, then wait (at most 30 s) until it is gone. Synchronous, for teardown.
    public func kill() {
        guard process.isRunning else { return }
        _ = Glibc.kill(process.processIdentifier, SIGKILL)
        for _ in 0..<3000 where process.isRunning { usleep(10_000) }
    }
}
