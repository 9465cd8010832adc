#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import CDZShims
import Foundation
import Synchronization

/// A child process run to its end: arguments as an array (never a shell string), its own process group, a time
/// limit after which the whole group gets SIGTERM then SIGKILL, and output captured up to a limit.
///
/// Why not swift-subprocess (1.0.x, evaluated for issue 17): it covers arguments without a shell, a process group
/// and a teardown on cancellation, but on Linux it has no hook between fork and exec (its
/// `preSpawnProcessConfigurator` is Darwin's and Windows'), so it cannot put a child in its control groups and
/// resource limits before the child's program runs (`Placement`) nor hand it a listening socket as descriptor 3
/// (`passing`); and output past a limit fails the run (`outputLimitExceeded`) where dz keeps its first or last
/// bytes (`Kept`). dz would keep this type for those and carry a second one.
public enum Subprocess {
    /// How a run ended.
    public struct Outcome: Sendable, Equatable {
        public enum Ending: Sendable, Equatable {
            case exited(Int32)
            case signalled(Int32)
            /// Killed at its time limit.
            case timedOut
            /// Killed because the calling task was cancelled.
            case cancelled
        }

        public var ending: Ending
        public var stdout: [UInt8]
        public var stderr: [UInt8]
        /// Bytes of output and error read but not kept (past `outputLimit`).
        public var dropped: Int = 0

        public var succeeded: Bool { ending == .exited(0) }
        public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
        public var stderrText: String { String(decoding: stderr, as: UTF8.self) }

        /// The last `lines` lines of standard error (or output, if error is empty), for messages.
        public func tail(_ lines: Int = 20) -> String {
            let text = stderr.isEmpty ? stdoutText : stderrText
            return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
        }
    }

    /// Which part of a stream is kept when it is longer than `outputLimit`.
    public enum Kept: Sendable {
        /// The first bytes (the default): a command's early messages.
        case head
        /// The last bytes: where a command says how it ended.
        case tail
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case notFound(String)
        case cannotStart(String, String)

        public var description: String {
            switch self {
            case .notFound(let program): "\(program): not found"
            case .cannotStart(let program, let why): "\(program): cannot start: \(why)"
            }
        }
    }

    /// Finds `program` on `PATH` (or takes it as a path if it contains a slash).
    public static func locate(_ program: String, path: String? = ProcessInfo.processInfo.environment["PATH"])
        -> String?
    {
        if program.contains("/") { return access(program, X_OK) == 0 ? program : nil }
        for directory in (path ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// Runs `arguments[0]` (looked up on PATH) with the rest as its arguments, in a new process group.
    ///
    /// - Parameters:
    ///   - environment: the child's whole environment (default: this process's).
    ///   - input: written to the child's standard input, which is then closed (default: /dev/null).
    ///   - timeout: seconds before the process group gets SIGTERM, and `killGrace` later SIGKILL.
    ///   - outputLimit: bytes kept of each of standard output and error (the rest is read and dropped).
    ///   - kept: whether the first or the last `outputLimit` bytes of each stream are kept.
    ///   - passing: descriptors the child gets as 3, 4, ... (a listening socket for a server it starts); every
    ///     other descriptor above 2 is closed in the child.
    ///   - placement: control groups and resource limits the child takes before its program runs (see
    ///     `Placement`).
    public static func run(
        _ arguments: [String], environment: [String: String]? = nil, workingDirectory: String? = nil,
        input: [UInt8]? = nil, timeout: Double = 600, killGrace: Double = 5, outputLimit: Int = 4 << 20,
        kept: Kept = .head, passing: [Int32] = [], placement: Placement? = nil
    ) async throws -> Outcome {
        guard let program = arguments.first, !program.isEmpty else { throw Failure.notFound("(empty command)") }
        let environment = environment ?? ProcessInfo.processInfo.environment
        guard let executable = locate(program, path: environment["PATH"]) else { throw Failure.notFound(program) }
        let child = try Child(executable: executable, arguments: arguments, environment: environment,
                              workingDirectory: workingDirectory, hasInput: input != nil, passing: passing,
                              placement: placement)
        let collected = OutputCollector(limit: outputLimit, kept: kept)
        let exited = ExitSignal()
        child.startThreads(input: input, collector: collected, exited: exited)

        let ending: Outcome.Ending
        if await exited.wait(timeout: timeout) {
            ending = child.ending
        } else {
            // Past the time limit, or the calling task was cancelled: the whole group goes. The waits below run
            // in tasks of their own so that the caller's cancellation does not cut them short.
            let cancelled = Task.isCancelled
            killGroup(child.pid, SIGTERM)
            if !(await Task { await exited.wait(timeout: killGrace) }.value) {
                killGroup(child.pid, SIGKILL)
                _ = await Task { await exited.wait(timeout: 30) }.value
            }
            ending = cancelled ? .cancelled : .timedOut
        }
        // A grandchild that escaped the group could hold the pipes open: never wait for it past the exit.
        _ = await Task { await child.readersDone.wait(timeout: 5) }.value
        let (stdout, stderr, dropped) = collected.contents
        return Outcome(ending: ending, stdout: stdout, stderr: stderr, dropped: dropped)
    }

    /// Sends `signal` to the process group `pgid`.
    ///
    /// The corresponding C function is `kill` with a negative pid.
    static func killGroup(_ pgid: pid_t, _ signal: Int32) {
        _ = kill(-pgid, signal)
    }
}

/// A child started with `posix_spawn`: its own process group (`POSIX_SPAWN_SETPGROUP`), default signal
/// dispositions and an empty signal mask, pipes for its standard streams. One thread writes its input, one reads
/// each output, one waits for its exit: blocking calls never occupy Swift's cooperative threads.
private final class Child: Sendable {
    let pid: pid_t
    private let stdoutRead: Int32
    private let stderrRead: Int32
    private let stdinWrite: Int32?
    private let status = Mutex<Int32>(0)
    let readersDone = ExitSignal(count: 2)

    init(executable: String, arguments: [String], environment: [String: String], workingDirectory: String?,
         hasInput: Bool, passing: [Int32] = [], placement: Subprocess.Placement? = nil) throws
    {
        // Close-on-exec from birth: a child spawned at the same moment by another task must not inherit these
        // pipes (it would hold them open and make the other run wait for it).
        var outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1], inPipe: [Int32] = [-1, -1]
        guard pipe2(&outPipe, O_CLOEXEC) == 0, pipe2(&errPipe, O_CLOEXEC) == 0,
              !hasInput || pipe2(&inPipe, O_CLOEXEC) == 0
        else {
            throw Subprocess.Failure.cannotStart(executable, "pipe: \(Errno(rawValue: errno))")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if hasInput {
            posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        if let workingDirectory { posix_spawn_file_actions_addchdir_np(&actions, workingDirectory) }
        // Passed descriptors are first copied above every target number (so that moving one never overwrites
        // another still to be moved), then moved to 3, 4, ...: dup2 clears close-on-exec on the target.
        let base = Int32(3 + passing.count)
        var copies: [Int32] = []
        defer { for copy in copies { close(copy) } }
        for fd in passing {
            let copy = fcntl(fd, F_DUPFD_CLOEXEC, base)
            guard copy >= 0 else {
                throw Subprocess.Failure.cannotStart(executable, "passing descriptor \(fd): \(Errno(rawValue: errno))")
            }
            copies.append(copy)
        }
        for (index, copy) in copies.enumerated() { posix_spawn_file_actions_adddup2(&actions, copy, Int32(3 + index)) }
        // Nothing else of ours reaches the child: descriptors this process inherited without close-on-exec (from
        // a service manager, a test harness) would live on in daemons it starts, such as an app's gunicorn.
        posix_spawn_file_actions_addclosefrom_np(&actions, base)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes,
                                 Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var child: pid_t = 0
        let code: Int32
        if let placement {
            (code, child) = Subprocess.spawnPlaced(
                executable, argv: argv, envp: envp, stdin: hasInput ? inPipe[0] : -1, stdout: outPipe[1],
                stderr: errPipe[1], passing: passing, workingDirectory: workingDirectory, placement: placement)
        } else {
            code = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
        }
        close(outPipe[1])
        close(errPipe[1])
        if hasInput { close(inPipe[0]) }
        guard code == 0 else {
            close(outPipe[0])
            close(errPipe[0])
            if hasInput { close(inPipe[1]) }
            throw Subprocess.Failure.cannotStart(executable, Errno(rawValue: code).description)
        }
        pid = child
        stdoutRead = outPipe[0]
        stderrRead = errPipe[0]
        stdinWrite = hasInput ? inPipe[1] : nil
    }

    func startThreads(input: [UInt8]?, collector: OutputCollector, exited: ExitSignal) {
        if let stdinWrite, let input {
            Thread.detachNewThread {
                // A child that exits without reading all its input must not kill this process with SIGPIPE: the
                // signal is blocked on this thread only (the write then fails with EPIPE, and a pending SIGPIPE
                // dies with the thread), so nothing changes for the rest of the process.
                var pipeSignal = sigset_t()
                sigemptyset(&pipeSignal)
                sigaddset(&pipeSignal, SIGPIPE)
                pthread_sigmask(SIG_BLOCK, &pipeSignal, nil)
                var offset = 0
                while offset < input.count {
                    let written = input.withUnsafeBytes { write(stdinWrite, $0.baseAddress! + offset, $0.count - offset) }
                    if written > 0 { offset += written } else if written < 0, errno == EINTR { continue } else { break }
                }
                close(stdinWrite)
            }
        }
        for (fd, stream) in [(stdoutRead, OutputCollector.Stream.out), (stderrRead, .err)] {
            Thread.detachNewThread { [readersDone] in
                var buffer = [UInt8](repeating: 0, count: 65536)
                while true {
                    let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
                    if count > 0 {
                        collector.append(buffer[0..<count], to: stream)
                    } else if count < 0, errno == EINTR {
                        continue
                    } else {
                        break
                    }
                }
                close(fd)
                readersDone.fire()
            }
        }
        let pid = self.pid
        Thread.detachNewThread { [self] in
            var raw: Int32 = 0
            while waitpid(pid, &raw, 0) < 0, errno == EINTR {}
            self.status.withLock { $0 = raw }
            exited.fire()
        }
    }

    var ending: Subprocess.Outcome.Ending {
        let raw = status.withLock { $0 }
        if dz_wifsignaled(raw) != 0 { return .signalled(dz_wtermsig(raw)) }
        return .exited(dz_wexitstatus(raw))
    }
}

/// Standard output and error gathered from the reader threads, each kept up to a limit: its first bytes, or its
/// last (trimmed once twice the limit, so that a long stream costs no copy per read).
private final class OutputCollector: Sendable {
    enum Stream { case out, err }
    private struct Buffers {
        var out: [UInt8] = []
        var err: [UInt8] = []
        var dropped = 0
    }

    private let buffers = Mutex<Buffers>(Buffers())
    private let limit: Int
    private let kept: Subprocess.Kept

    init(limit: Int, kept: Subprocess.Kept) {
        self.limit = max(0, limit)
        self.kept = kept
    }

    func append(_ bytes: ArraySlice<UInt8>, to stream: Stream) {
        let (limit, kept) = (self.limit, self.kept)
        buffers.withLock { buffers in
            var dropped = 0
            func add(_ buffer: inout [UInt8]) {
                switch kept {
                case .head:
                    let room = max(0, limit - buffer.count)
                    buffer += bytes.prefix(room)
                    dropped = bytes.count - min(room, bytes.count)
                case .tail:
                    buffer += bytes
                    if buffer.count > 2 * limit {
                        dropped = buffer.count - limit
                        buffer.removeFirst(dropped)
                    }
                }
            }
            switch stream {
            case .out: add(&buffers.out)
            case .err: add(&buffers.err)
            }
            buffers.dropped += dropped
        }
    }

    var contents: ([UInt8], [UInt8], Int) {
        let limit = self.limit
        return buffers.withLock { buffers in
            let out = Array(buffers.out.suffix(limit))
            let err = Array(buffers.err.suffix(limit))
            return (out, err, buffers.dropped + buffers.out.count - out.count + buffers.err.count - err.count)
        }
    }
}

/// Something that happens once (after `count` firings), awaitable with a time limit: a child's exit, its
/// readers' end of file.
private final class ExitSignal: Sendable {
    private struct State {
        var remaining: Int
        var nextID = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var abandoned = Set<Int>()
        var fired: Bool { remaining <= 0 }
    }

    private let state: Mutex<State>

    init(count: Int = 1) { state = Mutex(State(remaining: count)) }

    func fire() {
        let pending = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.remaining -= 1
            guard state.fired else { return [] }
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in pending { waiter.resume() }
    }

    var hasFired: Bool { state.withLock { $0.fired } }

    /// Returns once fired or when the calling task is cancelled.
    private func waitUntilFired() async {
        let id = state.withLock { state -> Int in
            defer { state.nextID += 1 }
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.fired || state.abandoned.remove(id) != nil { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                let waiter = state.waiters.removeValue(forKey: id)
                if waiter == nil { state.abandoned.insert(id) }
                return waiter
            }
            waiter?.resume()
        }
    }

    /// True once fired; false if `timeout` passed first or the calling task was cancelled.
    func wait(timeout: Double) async -> Bool {
        if hasFired { return true }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitUntilFired() }
            group.addTask { try? await Task.sleep(seconds: timeout) }
            await group.next()
            group.cancelAll()
        }
        return hasFired
    }
}
