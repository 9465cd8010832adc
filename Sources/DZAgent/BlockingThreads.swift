import Foundation
import Synchronization

/// A few threads of the agent's own for the spool's blocking calls (renames, reads, fsyncs).
///
/// Swift's cooperative pool has one thread per core: a worker that blocks in an `fsync` there holds a core's
/// whole share of the agent (its scheduler, its inotify pump, the other workers) and, on a two-core machine, lets
/// at most two tasks settle at once. On threads of their own, as many tasks as the agent runs can be inside a
/// settle at once, and their directory fsyncs fold into one (see dz-spool(5), Durability: group commit).
final class BlockingThreads: Sendable {
    private struct State {
        var jobs: [@Sendable () -> Void] = []
        var closed = false
    }

    private let state = Mutex(State())
    private let available = NSCondition()

    /// Starts `count` threads named `name`; they end with `close()`.
    init(count: Int, name: String) {
        for index in 0..<max(1, count) {
            let thread = Thread { [self] in loop() }
            thread.name = "\(name)-\(index)"
            thread.start()
        }
    }

    /// Runs `body` on one of the threads and returns what it returns; the calling task is suspended meanwhile.
    func run<Value: Sendable, Failure: Error>(_ body: @escaping @Sendable () throws(Failure) -> Value) async
        throws(Failure) -> Value
    {
        let outcome: Result<Value, Failure> = await withCheckedContinuation { continuation in
            let job: @Sendable () -> Void = {
                continuation.resume(returning: Result { () throws(Failure) -> Value in try body() })
            }
            let accepted = state.withLock { state -> Bool in
                guard !state.closed else { return false }
                state.jobs.append(job)
                return true
            }
            if accepted {
                available.lock()
                available.signal()
                available.unlock()
            } else {
                // Closed (the agent is stopping): run here rather than never.
                job()
            }
        }
        return try outcome.get()
    }

    /// Lets the threads end once the jobs handed in so far are done.
    func close() {
        state.withLock { $0.closed = true }
        available.lock()
        available.broadcast()
        available.unlock()
    }

    private func loop() {
        while true {
            available.lock()
            var job: (@Sendable () -> Void)?
            while true {
                let (next, closed) = state.withLock { state -> ((@Sendable () -> Void)?, Bool) in
                    (state.jobs.isEmpty ? nil : state.jobs.removeFirst(), state.closed)
                }
                if let next {
                    job = next
                    break
                }
                if closed { break }
                available.wait()
            }
            available.unlock()
            guard let job else { return }
            job()
        }
    }
}
