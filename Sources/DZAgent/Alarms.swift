import DZSystem
import Synchronization

/// Time limits of running handlers: one clock for the whole process instead of a sleeping task per handler.
///
/// `arm` registers what to do when a deadline passes; one loop, running only while alarms are armed, checks them
/// every `resolution` seconds, so a limit fires at most that much late. Arming and disarming cost a lock, not a
/// task and a timer.
final class Alarms: Sendable {
    static let shared = Alarms()
    static let resolution = 0.05

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
        var ticking = false
    }

    private let state = Mutex(State())

    /// Calls `action` once `seconds` have passed, unless disarmed before.
    func arm(after seconds: Double, _ action: @escaping @Sendable () -> Void) -> Alarm {
        let (id, start) = state.withLock { state -> (Int, Bool) in
            state.nextID += 1
            state.armed[state.nextID] = (.now() + seconds, action)
            let start = !state.ticking
            state.ticking = true
            return (state.nextID, start)
        }
        if start { Task.detached { await self.tick() } }
        return Alarm(id: id, owner: self)
    }

    private func disarm(_ id: Int) -> Bool {
        state.withLock { state in
            state.armed[id] = nil
            return state.fired.remove(id) != nil
        }
    }

    private func tick() async {
        while true {
            try? await Task.sleep(seconds: Alarms.resolution)
            let now = Timestamp.now()
            let due = state.withLock { state -> [@Sendable () -> Void]? in
                if state.armed.isEmpty {
                    state.ticking = false
                    return nil
                }
                var due: [@Sendable () -> Void] = []
                for (id, alarm) in state.armed where alarm.deadline <= now {
                    due.append(alarm.action)
                    state.armed[id] = nil
                    state.fired.insert(id)
                }
                return due
            }
            guard let due else { return }
            for action in due { action() }
        }
    }
}
