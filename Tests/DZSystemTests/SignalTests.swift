import DZSystem
import Foundation
import Testing

@Suite struct SignalTests {
    @Test func sendsToOneProcess() async throws {
        let sleeper = Process()
        sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
        sleeper.arguments = ["30"]
        try sleeper.run()
        // SIGKILL: Foundation starts children with most signals blocked (SIGTERM among them).
        try Signal.kill.send(to: sleeper.processIdentifier)
        let deadline = Date().addingTimeInterval(10)
        while sleeper.isRunning, Date() < deadline { try await Task.sleep(nanoseconds: 10_000_000) }
        #expect(!sleeper.isRunning)
        #expect(sleeper.terminationReason == .uncaughtSignal && sleeper.terminationStatus == SIGKILL)
        // Above pid_max no process can exist (a reaped pid could already be another's).
        let pidMax = try String(contentsOfFile: "/proc/sys/kernel/pid_max", encoding: .utf8)
        let beyond = try #require(Int32(pidMax.trimmingCharacters(in: .whitespacesAndNewlines))) + 1
        #expect(throws: Errno.noSuchProcess) { try Signal.ttin.send(to: beyond) }
    }

    @Test func neverAGroupOrEveryProcess() {
        // kill(0, …) would signal this test's own process group, kill(-1, …) every process it may.
        for pid: Int32 in [0, -1, -getpgrp()] {
            #expect(throws: Errno.invalidArgument, "pid \(pid)") { try Signal.ttin.send(to: pid) }
        }
        #expect(Signal.ttou.description == "SIGTTOU" && Signal(rawValue: SIGUSR1).description == "signal \(SIGUSR1)")
    }
}
