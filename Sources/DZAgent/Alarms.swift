import DZSystem
import Synchronization

/// Time limits of running handlers: one clock for the agent instead of a sleeping task per handler.
///
/// `arm` registers what to do when a deadline passes. The clock is `run`, a child task of the agent's own task
/// group, so it lives exactly as long as the agent does and no longer: it sleeps until the earliest armed
/// deadline, and while nothing is armed it sleeps until something is. Arming a deadline earlier than the one it
/// sleeps for wakes it; arming a later one, or disarming, costs a lock and nothing else. Without a running clock
/// no alarm fires.
final class Alarms: Sendable {
    /// One armed alarm: `disarm` it when the work ends, which also says whether it went off first.
    struct Alarm: Sendable {
        fileprivate let id: Int
        fileprivate let owner: Alarms

        /// Removes the alarm; returns whether it had already fired.
        @discardableResult
        func disarm() -> Bool { owner.disarm(id) }
    }

    private struct State {
        var armed: [Int: (deadline: Timestamp, action: @Sendable () -> Void)] = [:]
        var fired: Set<Int> = []
        var nextID = 0
        /// The deadline the clock sleeps until (nil: until an alarm is armed), and the latch that wakes it sooner;
        /// nil while the clock is not asleep or was already woken.
        var sleepingUntil: Timestamp?
        var wake: Latch?
    }

    private let state = Mutex(State())

    init() {}

    /// Calls `action` once `seconds` have passed, unless disarmed before.
    func arm(after seconds: Double, _ action: @escaping @Sendable () -> Void) -> Alarm {
        let deadline = Timestamp.now() + seconds
        let (id, wake) = state.withLock { state -> (Int, Latch?) in
            state.nextID += 1
            state.armed[state.nextID] = (deadline, action)
            guard let wake = state.wake, state.sleepingUntil.map({ deadline < $0 }) ?? true else {
                return (state.nextID, nil)
            }
            state.wake = nil
            return (state.nextID, wake)
        }
        wake?.set()
        return Alarm(id: id, owner: self)
    }

    /// Whether the clock sleeps now, and until when (nil: until an alarm is armed): for tests.
    var sleep: (asleep: Bool, until: Timestamp?) {
        state.withLock { ($0.wake != nil, $0.sleepingUntil) }
    }

    private func disarm(_ id: Int) -> Bool {
        state.withLock { state in
            state.armed[id] = nil
            return state.fired.remove(id) != nil
        }
    }

    /// The clock: fires the alarms that are due, then sleeps until the next deadline or an earlier `arm`; returns
    /// when the calling task is cancelled.
    func run() async {
        while !Task.isCancelled {
            let now = Timestamp.now()
            let wake = Latch()
            let (due, next) = state.withLock { state -> ([@Sendable () -> Void], Timestamp?) in
                var due: [@Sendable () -> Void] = []
                for (id, alarm) in state.armed where alarm.deadline <= now {
                    due.append(alarm.action)
                    state.armed[id] = nil
                    state.fired.insert(id)
                }
                let next = state.armed.values.map(\.deadline).min()
                state.sleepingUntil = next
                state.wake = wake
                return (due, next)
            }
            for action in due { action() }
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await wake.wait() }
                if let next { group.addTask { try? await Task.sleep(seconds: next - Timestamp.now()) } }
                await group.next()
                group.cancelAll()
            }
        }
        state.withLock { state in
            state.sleepingUntil = nil
            state.wake = nil
        }
    }
}
