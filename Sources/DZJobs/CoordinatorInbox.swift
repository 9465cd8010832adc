import DZSpool
import DZSystem
import Synchronization

/// What the coordinator's loop has to do next, gathered from every source of wake-ups (inotify, the rescan
/// timer, wake-up rings) while the loop was busy, and taken by the loop all at once: under a burst the loop
/// takes in many results per turn (one zoomdb transaction, one round of drops) instead of one per wake-up.
///
/// Names are kept in the order they were seen, each once until taken.
final class CoordinatorInbox: Sendable {
    /// What waits, taken whole by `take()`.
    struct Batch: Sendable, Equatable {
        /// Names seen in `results/new/`, oldest first.
        var results: [String] = []
        /// Names seen in `jobs/new/`, oldest first.
        var requests: [String] = []
        /// A full rescan is due (the timer, an inotify overflow).
        var sweep = false
        /// Queues a wake-up ring named: their `new/` is to be listed.
        var scans: Set<QueueName> = []
        /// When the first of `results` was seen.
        var firstResultSeen: Timestamp?

        var isEmpty: Bool { results.isEmpty && requests.isEmpty && !sweep && scans.isEmpty }
    }

    private struct State {
        var batch = Batch()
        var seen: [QueueName: Set<String>] = [:]
        var finished = false
        /// When a wake-up is due that `wake(at:)` scheduled, if one is.
        var wakeDue: Timestamp?
    }

    private let state = Mutex(State())
    /// One element whenever something was added since the loop last looked (at most one waits).
    let signals: AsyncStream<Void>
    private let signal: AsyncStream<Void>.Continuation

    init() {
        (signals, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// A name appeared in `queue`'s `new/` (only `results` and `jobs` are taken in; others are ignored).
    func appeared(_ name: String, in queue: QueueName) {
        guard queue == .results || queue == .jobs else { return }
        let added = state.withLock { state -> Bool in
            guard !state.finished, state.seen[queue, default: []].insert(name).inserted else { return false }
            if queue == .results {
                if state.batch.results.isEmpty { state.batch.firstResultSeen = .now() }
                state.batch.results.append(name)
            } else {
                state.batch.requests.append(name)
            }
            return true
        }
        if added { signal.yield() }
    }

    /// A full rescan is due.
    func sweep() {
        let added = state.withLock { state -> Bool in
            guard !state.finished else { return false }
            state.batch.sweep = true
            return true
        }
        if added { signal.yield() }
    }

    /// A wake-up ring named `queue`.
    func scan(_ queue: QueueName) {
        let added = state.withLock { state -> Bool in
            guard !state.finished else { return false }
            state.batch.scans.insert(queue)
            return true
        }
        if added { signal.yield() }
    }

    /// Whether result names wait (seen since the last `take()`).
    var resultsWait: Bool { state.withLock { !$0.batch.results.isEmpty } }

    /// Everything that waits, in one batch; the inbox is empty afterwards.
    func take() -> Batch {
        state.withLock { state in
            defer {
                state.batch = Batch()
                state.seen = [:]
            }
            return state.batch
        }
    }

    /// Puts back names the loop took but did not get to (it takes in a bounded number per turn), ahead of
    /// those seen since. The loop is not woken for them: it looks again at its next turn, which a new name, a
    /// sweep or `wake(at:)` starts.
    func putBack(results: [String] = [], requests: [String] = []) {
        guard !results.isEmpty || !requests.isEmpty else { return }
        state.withLock { state in
            guard !state.finished else { return }
            for (queue, names) in [(QueueName.results, results), (.jobs, requests)] where !names.isEmpty {
                var fresh: [String] = []
                for name in names where state.seen[queue, default: []].insert(name).inserted { fresh.append(name) }
                if queue == .results {
                    if !fresh.isEmpty, state.batch.firstResultSeen == nil { state.batch.firstResultSeen = .now() }
                    state.batch.results = fresh + state.batch.results
                } else {
                    state.batch.requests = fresh + state.batch.requests
                }
            }
        }
    }

    /// Wakes the loop at `time` (or at once, when it is past), unless something else does first; one wake-up
    /// pending at a time, the earliest asked for. For requests held back by `RequestPacing`: the loop waits for
    /// the time its pacing may let them in rather than looking again and again.
    func wake(at time: Timestamp) {
        let delay = time - .now()
        guard delay > 0 else {
            signal.yield()
            return
        }
        let scheduled = state.withLock { state -> Bool in
            guard !state.finished else { return false }
            if let due = state.wakeDue, due <= time { return false }
            state.wakeDue = time
            return true
        }
        guard scheduled else { return }
        Task { [weak self] in
            try? await Task.sleep(seconds: delay)
            guard let self else { return }
            let due = state.withLock { state -> Bool in
                guard state.wakeDue == time else { return false }
                state.wakeDue = nil
                return true
            }
            if due { signal.yield() }
        }
    }

    /// Ends the loop's wait for good: nothing more is added.
    func finish() {
        state.withLock { $0.finished = true }
        signal.finish()
    }
}
