import DZSystem

/// How a wake-up listener turns rings into scans: per queue, rings that arrive while a scan is already due are
/// folded into it, and scans are rate-limited (a token bucket, and a share of the time the scans themselves
/// take), so that a flood of rings, forged or not, costs at most `rate` listings of `new/` a second per queue.
/// A ring is never dropped, only delayed: a due scan happens at the latest when the bucket allows it.
///
/// Pure state, no clock of its own: the listener passes the time in.
public struct WakeThrottle: Sendable {
    public struct Limits: Sendable, Equatable {
        /// Scans a second per queue, sustained.
        public var rate: Double
        /// Scans that may happen at once after a quiet spell.
        public var burst: Double
        /// After a scan that took `d` seconds, the next one waits at least `d` times this: scans of a queue
        /// with a huge `new/` take at most 1 / (1 + factor) of the time.
        public var durationFactor: Double

        public init(rate: Double = 100, burst: Double = 10, durationFactor: Double = 4) {
            self.rate = max(rate, 0.01)
            self.burst = max(burst, 1)
            self.durationFactor = max(durationFactor, 0)
        }
    }

    /// What to do with a ring.
    public enum Decision: Sendable, Equatable {
        /// Scan now.
        case scan
        /// A scan is already due (waiting to start, or deferred): this ring is folded into it.
        case folded
        /// Scan at this time, not before (the limit): the listener must come back then (`due`).
        case deferred(Timestamp)
    }

    private struct State {
        var tokens: Double
        var refilled: Timestamp
        /// A scan was handed out and has not started yet.
        var pending = false
        /// A scan is owed at this time.
        var deferredUntil: Timestamp?
        /// No scan before this (set after a long one).
        var notBefore = Timestamp.distantPast
    }

    public let limits: Limits
    private var states: [QueueName: State] = [:]

    public init(limits: Limits = Limits()) { self.limits = limits }

    /// A ring for `queue` arrived at `now`.
    public mutating func ring(_ queue: QueueName, now: Timestamp) -> Decision {
        var state = refill(queue, now)
        defer { states[queue] = state }
        if state.pending || state.deferredUntil != nil { return .folded }
        if state.tokens >= 1, now >= state.notBefore {
            state.tokens -= 1
            state.pending = true
            return .scan
        }
        let refillAt = state.tokens >= 1 ? now : now + (1 - state.tokens) / limits.rate
        let at = max(refillAt, state.notBefore)
        state.deferredUntil = at
        return .deferred(at)
    }

    /// The deferred scans whose time has come (each now handed out), and the earliest time still ahead.
    public mutating func due(now: Timestamp) -> (queues: [QueueName], next: Timestamp?) {
        var queues: [QueueName] = []
        var next: Timestamp?
        for queue in states.keys.sorted() {
            guard var state = states[queue], let at = state.deferredUntil else { continue }
            if at <= now {
                state = refill(queue, now)
                state.tokens = max(0, state.tokens - 1)
                state.deferredUntil = nil
                state.pending = true
                states[queue] = state
                queues.append(queue)
            } else if next == nil || at < next! {
                next = at
            }
        }
        return (queues, next)
    }

    /// The scan handed out for `queue` starts now: a ring from now on may need another scan.
    public mutating func started(_ queue: QueueName) {
        states[queue]?.pending = false
    }

    /// The scan of `queue` took `seconds`, ending at `now`.
    public mutating func finished(_ queue: QueueName, seconds: Double, now: Timestamp) {
        guard seconds > 0, seconds.isFinite else { return }
        states[queue]?.notBefore = now + min(seconds * limits.durationFactor, 60)
    }

    private func refill(_ queue: QueueName, _ now: Timestamp) -> State {
        guard var state = states[queue] else { return State(tokens: limits.burst, refilled: now) }
        let elapsed = max(0, now - state.refilled)
        state.tokens = min(limits.burst, state.tokens + elapsed * limits.rate)
        state.refilled = now
        return state
    }
}
