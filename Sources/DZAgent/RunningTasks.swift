import DZSpool
import Synchronization

/// The claims this agent holds while their handlers run: renewed together, cancelled together at shutdown.
final class RunningTasks: Sendable {
    enum StopReason: Sendable, Equatable {
        case leaseLost, shutdown, cancelled
    }

    private struct Entry {
        var claim: Claim
        var execution: Task<ExecutionOutcome, Never>?
        var stopReason: StopReason?
        /// The handler has ended: the claim's file is moving (to done/, failed/, or back to new/).
        var settling = false
    }

    private let entries = Mutex<[String: Entry]>([:])

    func insert(_ claim: Claim) {
        entries.withLock { $0[claim.path] = Entry(claim: claim) }
    }

    func attach(_ claim: Claim, _ execution: Task<ExecutionOutcome, Never>) {
        let cancelNow = entries.withLock { entries -> Bool in
            entries[claim.path]?.execution = execution
            return entries[claim.path]?.stopReason != nil
        }
        if cancelNow { execution.cancel() }
    }

    /// Removes a claim; returns why it was stopped, if it was.
    @discardableResult
    func remove(_ claim: Claim) -> StopReason? {
        entries.withLock { $0.removeValue(forKey: claim.path)?.stopReason }
    }

    /// Marks a claim whose handler has ended and returns why it was stopped, if it was (it stays listed, and
    /// counted as running, until `remove`). From now on its file
    /// moves, so the renewals leave it alone: its file gone from cur/ is its own move, not a lost lease.
    func beginSettling(_ claim: Claim) -> StopReason? {
        entries.withLock { entries in
            entries[claim.path]?.settling = true
            return entries[claim.path]?.stopReason
        }
    }

    /// Whether a claim's handler still runs (listed, not settling): only then is a failed renewal a lost lease.
    func isRunning(_ claim: Claim) -> Bool {
        entries.withLock { $0[claim.path].map { !$0.settling } ?? false }
    }

    var claims: [Claim] { entries.withLock { $0.values.map(\.claim) } }
    /// The claims whose handlers still run: the ones to renew.
    var renewable: [Claim] { entries.withLock { $0.values.filter { !$0.settling }.map(\.claim) } }
    /// Whether the claim named `name` is in hand (its `.json`, or the same stem once committed).
    func holds(_ name: ClaimName) -> Bool { entries.withLock { $0.values.contains { $0.claim.name == name } } }
    var count: Int { entries.withLock { $0.count } }
    /// How many handlers run (settling claims not counted: their workers have gone on to the next name).
    var handlersRunning: Int { entries.withLock { $0.values.filter { !$0.settling }.count } }
    var taskIDs: [String] { entries.withLock { $0.values.map(\.claim.task.id.rawValue).sorted() } }

    /// Cancels one claim's handler.
    func stop(_ claim: Claim, _ reason: StopReason) {
        let execution = entries.withLock { entries -> Task<ExecutionOutcome, Never>? in
            guard entries[claim.path] != nil else { return nil }
            if entries[claim.path]?.stopReason == nil { entries[claim.path]?.stopReason = reason }
            return entries[claim.path]?.execution
        }
        execution?.cancel()
    }

    /// Cancels every running handler.
    func stopAll(_ reason: StopReason) {
        for claim in claims { stop(claim, reason) }
    }
}

/// How a handler's run ended.
enum ExecutionOutcome: Sendable {
    case succeeded([String: JSONValue])
    case failed(TaskFailure)
    case timedOut(Double)
    case cancelled
}
