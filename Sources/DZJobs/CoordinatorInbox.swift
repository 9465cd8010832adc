import DZSpool
import DZSystem
import Synchronization

/// What the coordinator's loop has to do next, gathered from every source of wake-ups (inotify, the rescan
/// timer, wake-up rings) while the loop was busy, and taken by the loop all at once: under a burst the loop
/// takes in many results per turn (one zoomdb transaction, one round of drops) instead of one per wake-up.
///
/// Names are kept in the order they were seen, each once until taken: results by `take()`, requests once the loop
/// says it has taken them in (`tookIn(requests:)`; it takes in a bounded number per turn, and a burst's requests
/// wait here meanwhile, not handed out and put back at every turn).
final class CoordinatorInbox: Sendable {
    /// What waits: the results and the rest taken whole by `take()`, the requests only shown.
    struct Batch: Sendable, Equatable {
        /// Names seen in `results/new/`, oldest first.
        var results: [String] = []
        /// Names seen in `jobs/new/` and not yet taken in, oldest first.
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
        /// The names of `batch.results`.
        var resultsSeen: Set<String> = []
        /// The names of `batch.requests`.
        var requestsSeen: Set<String> = []
        var finished = false
        /// When a wake-up is due that `wake(at:)` scheduled, if one is.
        var wakeDue: Timestamp?

        /// Adds a request name behind those waiting, unless it waits already.
        mutating func addRequest(_ name: String) {
            if requestsSeen.insert(name).inserted { batch.requests.append(name) }
        }
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
            guard !state.finished else { return false }
            if queue == .results {
                guard state.resultsSeen.insert(name).inserted else { return false }
                if state.batch.results.isEmpty { state.batch.firstResultSeen = .now() }
                state.batch.results.append(name)
            } else {
                state.addRequest(name)
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

    /// Everything that waits, in one batch: the inbox is empty afterwards but for the requests, which stay until
    /// `tookIn(requests:)`.
    func take() -> Batch {
        state.withLock { state in
            defer {
                state.batch = Batch(requests: state.batch.requests)
                state.resultsSeen = []
            }
            return state.batch
        }
    }

    /// Adds request names the loop found itself (a listing of `jobs/new/`) behind those waiting, each once;
    /// returns all that wait. The loop is not woken: it is the loop that found them.
    func found(requests names: [String]) -> [String] {
        state.withLock { state in
            guard !state.finished else { return state.batch.requests }
            for name in names { state.addRequest(name) }
            return state.batch.requests
        }
    }

    /// The first `count` requests shown have been taken in (or set aside): they go. The others stay, ahead of
    /// those seen since, for the loop's next turn, which a new name, a sweep or `wake(at:)` starts.
    func tookIn(requests count: Int) {
        guard count > 0 else { return }
        state.withLock { state in
            let gone = state.batch.requests.prefix(count)
            for name in gone { state.requestsSeen.remove(name) }
            state.batch.requests.removeFirst(gone.count)
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
