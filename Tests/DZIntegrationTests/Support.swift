import DZSpool
import Foundation
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Every integration suite is nested in this one, so that the heavy tests (real agents on a real spool) run one at
/// a time, never in parallel with each other: `.serialized` applies to the suites inside it too.
@Suite(.serialized) enum Integration {}

/// A precondition of a test that does not hold (no `dz` binary, no FUSE, a process that would not start).
struct SetupFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

// MARK: - The dz binary

/// The `dz` executable under test: `$DZ_BINARY`, else the one built beside the test bundle (`.build/debug/dz`).
enum DZBinary {
    static func path() throws -> String {
        if let explicit = ProcessInfo.processInfo.environment["DZ_BINARY"], !explicit.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: explicit) else {
                throw SetupFailure("DZ_BINARY is \(explicit), which is not an executable file")
            }
            return explicit
        }
        var candidates: [String] = []
        if let executable = Bundle.main.executablePath {
            candidates.append(directory(of: executable) + "/dz")
        }
        if let first = CommandLine.arguments.first, !first.isEmpty {
            let absolute = first.hasPrefix("/") ? first : FileManager.default.currentDirectoryPath + "/" + first
            candidates.append(directory(of: absolute) + "/dz")
        }
        // On macOS the test bundle is a directory: <build>/debug/dzPackageTests.xctest/Contents/MacOS/...
        for candidate in candidates where candidate.contains(".xctest/") {
            if let range = candidate.range(of: ".xctest/", options: .backwards) {
                candidates.append(directory(of: String(candidate[..<range.lowerBound])) + "/dz")
            }
        }
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        throw SetupFailure("""
            the dz executable was not found next to the test bundle (looked at: \
            \(candidates.joined(separator: ", "))). Build it first: swift build --build-tests, or set DZ_BINARY.
            """)
    }

    private static func directory(of path: String) -> String {
        (path as NSString).deletingLastPathComponent
    }
}

// MARK: - Polling

/// Polls `condition` every `interval` seconds until it holds (true) or `timeout` seconds have passed (false).
/// The only way these tests wait for another process: never a bare sleep.
func waitUntil(timeout: Double, every interval: Double = 0.025, _ condition: () throws -> Bool) async rethrows
    -> Bool
{
    let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
    while true {
        if try condition() { return true }
        if ContinuousClock.now >= deadline { return false }
        try? await Task.sleep(for: .milliseconds(Int(interval * 1000)))
    }
}

/// `waitUntil` for a condition that itself waits (runs a `dz` command).
func eventually(timeout: Double, every interval: Double = 0.2, _ condition: () async throws -> Bool) async rethrows
    -> Bool
{
    let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
    while true {
        if try await condition() { return true }
        if ContinuousClock.now >= deadline { return false }
        try? await Task.sleep(for: .milliseconds(Int(interval * 1000)))
    }
}

// MARK: - Processes

/// What a finished `dz` command printed and how it exited.
struct CommandResult: CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String

    var description: String { "exit status \(status)\n--- stdout:\n\(stdout)\n--- stderr:\n\(stderr)" }
}

/// A running `dz` process (or another tool a test needs), its standard output and error going to files in the
/// test's scratch directory.
final class DZProcess {
    let label: String
    let arguments: [String]
    let outputPath: String
    let errorPath: String
    private let process: Process

    init(label: String, arguments: [String], logDirectory: String, stdin: [UInt8]? = nil, executable: String? = nil,
         environment extra: [String: String] = [:]) throws
    {
        self.label = label
        self.arguments = arguments
        let unique = "\(label).\(UInt32.random(in: 0...UInt32.max))"
        outputPath = logDirectory + "/" + unique + ".out"
        errorPath = logDirectory + "/" + unique + ".err"
        let manager = FileManager.default
        guard manager.createFile(atPath: outputPath, contents: nil),
              manager.createFile(atPath: errorPath, contents: nil),
              let output = FileHandle(forWritingAtPath: outputPath),
              let error = FileHandle(forWritingAtPath: errorPath)
        else { throw SetupFailure("cannot create the output files of \(label) in \(logDirectory)") }
        defer {
            try? output.close()
            try? error.close()
        }
        var input: FileHandle?
        if let stdin {
            let inputPath = logDirectory + "/" + unique + ".in"
            guard manager.createFile(atPath: inputPath, contents: Data(stdin)),
                  let handle = FileHandle(forReadingAtPath: inputPath)
            else { throw SetupFailure("cannot create the standard input of \(label)") }
            input = handle
        }
        defer { try? input?.close() }

        process = Process()
        process.executableURL = URL(fileURLWithPath: try executable ?? DZBinary.path())
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["DZ_SPOOL"] = nil
        environment.merge(extra) { $1 }
        process.environment = environment
        process.standardInput = input ?? FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = error
        do { try process.run() } catch {
            throw SetupFailure("cannot start dz \(arguments.joined(separator: " ")): \(error)")
        }
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// The exit status once it has exited normally; `nil` while it runs or when a signal ended it.
    var exitStatus: Int32? {
        guard !process.isRunning, process.terminationReason == .exit else { return nil }
        return process.terminationStatus
    }

    /// How it ended, for messages.
    var ending: String {
        if process.isRunning { return "still running" }
        switch process.terminationReason {
        case .exit: return "exit status \(process.terminationStatus)"
        case .uncaughtSignal: return "killed by signal \(process.terminationStatus)"
        @unknown default: return "ended (\(process.terminationStatus))"
        }
    }

    var standardOutput: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
    var standardError: String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }

    /// The last lines of its standard error, for failure messages.
    var errorTail: String {
        let lines = standardError.split(separator: "\n", omittingEmptySubsequences: false)
        return "[\(label) pid \(pid), \(ending)] stderr:\n" + lines.suffix(15).joined(separator: "\n")
    }

    /// Sends `signal` if it still runs.
    func send(_ signal: Int32) {
        if process.isRunning { _ = Glibc.kill(process.processIdentifier, signal) }
    }

    /// Waits (polling) until it has exited; false if it still runs after `timeout` seconds.
    func waitForExit(timeout: Double) async -> Bool {
        await waitUntil(timeout: timeout, every: 0.02) { !process.isRunning }
    }

    /// SIGKILL, then wait (at most 30 s) for it to be gone: for `defer`, and for crash tests. Synchronous, so
    /// that it can run in a `defer`.
    func kill() {
        guard process.isRunning else { return }
        _ = Glibc.kill(process.processIdentifier, SIGKILL)
        // Not `waitUntilExit()`: it never returned for a child that daemonised (bindfs without -f: Foundation did
        // not notice the exit while the daemon lived). Polling with a bound never hangs the suite.
        for _ in 0..<3000 where process.isRunning { usleep(10_000) }
    }
}

// MARK: - Temporary spool

/// One record of the audit log: a logfmt line's fields.
struct AuditRecord: CustomStringConvertible {
    let line: String
    let fields: [String: String]

    init(_ line: Substring) {
        self.line = String(line)
        var fields: [String: String] = [:]
        for (key, value) in Logfmt.parse(line) where fields[key] == nil { fields[key] = value }
        self.fields = fields
    }

    subscript(key: String) -> String? { fields[key] }
    var event: String { fields["event"] ?? "" }
    var description: String { line }
}

/// A scratch directory under /tmp (from mkdtemp) holding a spool at `root` and the output of every process the
/// test starts. `cleanUp()` kills every process still running, then deletes the directory.
///
/// Every process it starts gets `DZ_DB=<directory>/zoomdb.sqlite3` (unless the test gives another): the
/// coordinator's zoomdb lives beside the spool, on the same local disk, never in it and never in the machine's
/// own state directory.
final class TestSpool {
    let directory: String
    let root: String
    let logDirectory: String
    /// The zoomdb a coordinator started here keeps.
    var zoomdbPath: String { directory + "/zoomdb.sqlite3" }
    private var processes: [DZProcess] = []

    /// Makes the scratch directory; with `initialize`, the spool's standard queues (as `dz init` does).
    init(initialize: Bool = true) throws {
        var template = Array("/tmp/dz-it.XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw SetupFailure("mkdtemp failed: errno \(errno)")
        }
        directory = String(cString: made)
        root = directory + "/spool"
        logDirectory = directory + "/output"
        try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        if initialize {
            try Spool(root: root, host: HostID("tester"), sync: false).initialize()
        }
    }

    /// Kills every process this test started that still runs.
    func killAll() {
        for process in processes { process.kill() }
    }

    /// Kills what still runs and deletes the scratch directory.
    func cleanUp() {
        killAll()
        try? FileManager.default.removeItem(atPath: directory)
    }

    // MARK: running dz

    /// `dz <args...> --spool <root>`: the spool option goes after the subcommands and their arguments.
    func arguments(_ args: [String], via spoolRoot: String?) -> [String] {
        // After the subcommands (`config set`), before a `--` that ends dz's options.
        let spool = ["--spool", spoolRoot ?? root]
        guard let dash = args.firstIndex(of: "--") else { return args + spool }
        return Array(args[..<dash]) + spool + Array(args[dash...])
    }

    /// Starts `dz` with `args` on this spool (or through another view of it); killed at `cleanUp()`.
    func start(_ args: [String], via spoolRoot: String? = nil, label: String? = nil, stdin: [UInt8]? = nil,
               environment: [String: String] = [:]) throws -> DZProcess
    {
        let process = try DZProcess(label: label ?? args.first ?? "dz", arguments: arguments(args, via: spoolRoot),
                                    logDirectory: logDirectory, stdin: stdin,
                                    environment: ["DZ_DB": zoomdbPath].merging(environment) { $1 })
        processes.append(process)
        return process
    }

    /// Runs a `dz` command to its end (at most `timeout` seconds) and returns what it printed.
    func dz(_ args: [String], via spoolRoot: String? = nil, stdin: [UInt8]? = nil, timeout: Double = 60,
            environment: [String: String] = [:]) async throws -> CommandResult
    {
        let process = try start(args, via: spoolRoot, stdin: stdin, environment: environment)
        guard await process.waitForExit(timeout: timeout) else {
            process.kill()
            throw SetupFailure("dz \(process.arguments.joined(separator: " ")) did not exit within \(timeout) s")
        }
        guard let status = process.exitStatus else {
            throw SetupFailure("dz \(process.arguments.joined(separator: " ")) \(process.ending)\n\(process.errorTail)")
        }
        return CommandResult(status: status, stdout: process.standardOutput, stderr: process.standardError)
    }

    /// Runs another program (`bindfs`, `fusermount`) to its end; its output goes beside the dz processes'.
    func tool(_ executable: String, _ args: [String], timeout: Double = 60) async throws -> CommandResult {
        let process = try DZProcess(label: (executable as NSString).lastPathComponent, arguments: args,
                                    logDirectory: logDirectory, executable: executable)
        processes.append(process)
        guard await process.waitForExit(timeout: timeout) else {
            process.kill()
            throw SetupFailure("\(executable) \(args.joined(separator: " ")) did not exit within \(timeout) s")
        }
        return CommandResult(status: process.exitStatus ?? -1, stdout: process.standardOutput,
                             stderr: process.standardError)
    }

    /// Drops `count` tasks (`noop` unless named) into `build` as `dropper` and returns their ids, in the order dropped.
    func dropTasks(_ count: Int, by dropper: Spool, task: String = "noop",
                   args: [String: JSONValue] = [:]) throws -> [String] {
        let build = try QueueName("build")
        return try (0..<count).map { _ in
            let id = TaskID.generate(host: dropper.host)
            try dropper.drop(TaskFile(id: id, task: task, args: args), into: build)
            return id.rawValue
        }
    }

    /// Sends SIGTERM to every agent at once, then expects each to exit 0 within a minute.
    func terminate(_ agents: [DZProcess]) async {
        for agent in agents { agent.send(SIGTERM) }
        for agent in agents {
            let exited = await agent.waitForExit(timeout: 60)
            #expect(exited && agent.exitStatus == 0, "after SIGTERM: \(agent.errorTail)")
        }
    }

    /// `dz send <args>`, which must succeed; returns the task id it prints.
    func send(_ args: String..., via spoolRoot: String? = nil) async throws -> String {
        let result = try await dz(["send"] + args, via: spoolRoot)
        guard result.status == 0 else { throw SetupFailure("dz send \(args.joined(separator: " ")) failed: \(result)") }
        let id = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard TaskID.isValid(id) else { throw SetupFailure("dz send printed no task id: \(result)") }
        return id
    }

    /// Starts `dz agent -Q <queues> --host-id <host> <extra...>` and waits until it has logged `agent-started`
    /// (its inotify watches are in place by then).
    func startAgent(host: String, queues: String = "build", via spoolRoot: String? = nil, _ extra: [String] = [],
                    environment: [String: String] = [:]) async throws -> DZProcess
    {
        let agent = try start(["agent", "-Q", queues, "--host-id", host] + extra, via: spoolRoot, label: "agent-\(host)",
                              environment: environment)
        let started = await waitUntil(timeout: 60) {
            !agent.isRunning || records(event: "agent-started").contains { $0["pid"] == String(agent.pid) }
        }
        guard started, agent.isRunning else {
            throw SetupFailure("agent \(host) did not start: \(agent.errorTail)")
        }
        return agent
    }

    // MARK: looking at the spool

    func path(_ queue: String, _ stage: String) -> String { root + "/" + queue + "/" + stage }

    /// The names directly in `<queue>/<stage>/` (dotfiles included); none when the directory is missing.
    func names(_ queue: String, _ stage: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path(queue, stage))) ?? []).sorted()
    }

    /// The names in every day directory of `<queue>/<stage>/` (`done/` or `failed/`), as `day/name`.
    func dayFiles(_ queue: String, _ stage: String) -> [String] {
        var found: [String] = []
        for day in names(queue, stage) {
            let dir = path(queue, stage) + "/" + day
            for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
                found.append(day + "/" + name)
            }
        }
        return found.sorted()
    }

    /// The names only (no day) of the files in every day directory of `<queue>/<stage>/`.
    func dayNames(_ queue: String, _ stage: String) -> [String] {
        dayFiles(queue, stage).map { String($0.split(separator: "/", maxSplits: 1)[1]) }
    }

    /// The full path of `name` in a day directory of `<queue>/<stage>/`, if it is in one.
    func findInDays(_ queue: String, _ stage: String, _ name: String) -> String? {
        for day in names(queue, stage) {
            let candidate = path(queue, stage) + "/" + day + "/" + name
            if FileManager.default.fileExists(atPath: candidate) || isSymbolicLink(candidate) { return candidate }
        }
        return nil
    }

    /// Every line of every host's audit log, in file order per host.
    func auditRecords() -> [AuditRecord] {
        let logRoot = root + "/log"
        var records: [AuditRecord] = []
        for host in ((try? FileManager.default.contentsOfDirectory(atPath: logRoot)) ?? []).sorted() {
            let dir = logRoot + "/" + host
            for file in ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
            where file.hasSuffix(".log") {
                guard let data = FileManager.default.contents(atPath: dir + "/" + file) else { continue }
                let text = String(decoding: data, as: UTF8.self)
                records += text.split(separator: "\n").map { AuditRecord($0) }
            }
        }
        return records
    }

    /// The audit records of one event, optionally only those naming `task`.
    func records(event: String, task: String? = nil) -> [AuditRecord] {
        auditRecords().filter { $0.event == event && (task == nil || $0["task"] == task) }
    }

    /// The result waiting in `<queue>/new/<id>.json`, parsed.
    func result(_ id: String, queue: String = "results") throws -> ResultFile? {
        guard let data = FileManager.default.contents(atPath: path(queue, "new") + "/" + id + ".json") else {
            return nil
        }
        return try ResultFile(parsing: [UInt8](data))
    }

    /// Whether the task `id` has been settled: its result delivered, its file moved out of `cur/` into `done/` or
    /// `failed/`, and `finished` logged. (These happen in that order: waiting for the result alone races the rest.)
    func isSettled(_ id: String, queue: String = "build") -> Bool {
        guard (try? result(id)) != nil else { return false }
        guard findInDays(queue, "done", id + ".json") != nil || findInDays(queue, "failed", id + ".json") != nil
        else { return false }
        guard !names(queue, "cur").contains(where: { $0.hasPrefix(id + "@") }) else { return false }
        return !records(event: "finished", task: id).isEmpty
    }

    /// The task file at `path`, parsed.
    func task(at path: String) throws -> TaskFile {
        guard let data = FileManager.default.contents(atPath: path) else { throw SetupFailure("cannot read \(path)") }
        let name = (path as NSString).lastPathComponent
        let stem = name.hasSuffix(".json") ? String(name.dropLast(5)) : name
        return try TaskFile(parsing: [UInt8](data), stem: stem)
    }

    /// Writes `bytes` to `path` (no fsync).
    func write(_ bytes: [UInt8], to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw SetupFailure("cannot write \(path)")
        }
    }

    /// Sets the modification time of the regular file `path` to `secondsAgo` in the past (it counts as settled).
    func age(_ path: String, secondsAgo: Double) throws {
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -secondsAgo)],
                                              ofItemAtPath: path)
    }

    func isSymbolicLink(_ path: String) -> Bool {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) != nil
    }
}

/// The full path of `name` found in `$PATH` (and the sbin directories), if it is installed.
func executableInPath(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    let directories = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
    return directories.map { $0 + "/" + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// The bytes of `text` as UTF-8.
func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
