import DZSystem
import Testing

@testable import DZTelemetry

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// sd_notify over a real unix datagram socket, as systemd listens on it.
struct ServiceNotifierTests {
    private func scratch() throws -> String {
        var template = Array("/tmp/dz-notify.XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw Errno(rawValue: errno)
        }
        return String(cString: made)
    }

    @Test func readyStatusWatchdogAndStoppingArriveAsDatagramsOfKeyValueLines() throws {
        let directory = try scratch()
        defer { _ = try? FileSystem.unlink(directory + "/notify"); _ = try? FileSystem.removeDirectory(directory) }
        let receiver = try UnixDatagramSocket(binding: directory + "/notify")
        let notifier = try #require(ServiceNotifier(environment: ["NOTIFY_SOCKET": directory + "/notify"]))
        #expect(notifier.ready(status: "first\nREADY=0"))
        #expect(notifier.watchdog())
        #expect(notifier.stopping(status: "bye"))
        let messages = try (0..<3).map { _ in String(decoding: try #require(try receiver.receive(timeout: 10)), as: UTF8.self) }
        #expect(messages == ["READY=1\nSTATUS=first READY=0\n", "WATCHDOG=1\n", "STOPPING=1\nSTATUS=bye\n"])
    }

    @Test func theAbstractNamespaceIsReachedByAnAtSign() throws {
        let name = "@dz-notify-test-\(Host.pid)-\(UInt32.random(in: 0...UInt32.max))"
        let receiver = try UnixDatagramSocket(binding: name)
        let notifier = try #require(ServiceNotifier(environment: ["NOTIFY_SOCKET": name]))
        #expect(notifier.status("busy"))
        let message = try #require(try receiver.receive(timeout: 10))
        #expect(String(decoding: message, as: UTF8.self) == "STATUS=busy\n")
    }

    @Test func withoutASocketThereIsNoNotifier() {
        #expect(ServiceNotifier(environment: [:]) == nil)
        #expect(ServiceNotifier(environment: ["NOTIFY_SOCKET": "relative/path"]) == nil)
        #expect(ServiceNotifier(environment: ["NOTIFY_SOCKET": "/" + String(repeating: "x", count: 200)]) == nil)
    }

    @Test func aSocketNobodyListensOnIsNoError() throws {
        let notifier = try #require(ServiceNotifier(environment: ["NOTIFY_SOCKET": "/nonexistent/dz/notify"]))
        #expect(!notifier.ready(status: "x"))
    }

    @Test func theWatchdogPingsAtHalfItsTimeoutAndOnlyForItsOwnProcess() {
        #expect(ServiceNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "30000000"], pid: 5) == 15)
        #expect(ServiceNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "5"], pid: 5) == 15)
        #expect(ServiceNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "6"], pid: 5) == nil)
        #expect(ServiceNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "0"], pid: 5) == nil)
        #expect(ServiceNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "-1"], pid: 5) == nil)
        #expect(ServiceNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "junk"], pid: 5) == nil)
        #expect(ServiceNotifier.watchdogInterval(environment: [:], pid: 5) == nil)
    }
}
