@testable import DZAgent
import DZSpool
import Synchronization
import Testing

/// The agent's one clock for handlers' time limits: it sleeps until the earliest deadline, not in ticks.
@Suite struct AlarmsTests {
    /// Which alarms went off, in order.
    final class Fired: Sendable {
        private let names = Mutex<[String]>([])
        func record(_ name: String) { names.withLock { $0.append(name) } }
        var all: [String] { names.withLock { $0 } }
    }

    /// Polls `condition` until it holds or `seconds` pass (machines are noisy: no fixed waits).
    func eventually(within seconds: Double = 20, _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(nanoseconds: 5_000_000)
        }
        return condition()
    }

    @Test func withNothingArmedTheClockSleepsWithoutADeadline() async {
        let alarms = Alarms()
        let clock = Task { await alarms.run() }
        defer { clock.cancel() }
        #expect(await eventually { alarms.sleep.asleep })
        #expect(alarms.sleep.until == nil)
    }

    @Test func theClockSleepsUntilTheEarliestDeadline() async {
        let alarms = Alarms()
        let clock = Task { await alarms.run() }
        defer { clock.cancel() }
        let later = alarms.arm(after: 7200) {}
        let sooner = alarms.arm(after: 3600) {}
        #expect(await eventually {
            guard alarms.sleep.asleep, let until = alarms.sleep.until else { return false }
            let left = Double(until.nanoseconds - Timestamp.now().nanoseconds) / 1e9
            return left < 3601 && left > 3000
        })
        #expect(!later.disarm())
        #expect(!sooner.disarm())
    }

    @Test func anEarlierAlarmWakesAClockAsleepForALaterOne() async {
        let alarms = Alarms()
        let clock = Task { await alarms.run() }
        defer { clock.cancel() }
        let fired = Fired()
        let far = alarms.arm(after: 3600) { fired.record("far") }
        #expect(await eventually { alarms.sleep.asleep && alarms.sleep.until != nil })
        let near = alarms.arm(after: 0.05) { fired.record("near") }
        #expect(await eventually { fired.all == ["near"] })
        #expect(near.disarm())
        #expect(!far.disarm())
    }

    @Test func aDisarmedAlarmNeverFires() async {
        let alarms = Alarms()
        let clock = Task { await alarms.run() }
        defer { clock.cancel() }
        let fired = Fired()
        let first = alarms.arm(after: 0.01) { fired.record("disarmed") }
        #expect(!first.disarm())
        let second = alarms.arm(after: 0.05) { fired.record("kept") }
        #expect(await eventually { !fired.all.isEmpty })
        #expect(fired.all == ["kept"])
        #expect(second.disarm())
    }

    @Test func theClockEndsWithItsTask() async {
        let alarms = Alarms()
        let clock = Task { await alarms.run() }
        _ = alarms.arm(after: 3600) {}
        #expect(await eventually { alarms.sleep.asleep })
        clock.cancel()
        await clock.value
        #expect(!alarms.sleep.asleep)
    }
}
