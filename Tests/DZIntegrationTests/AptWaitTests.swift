import DZSystem
import Foundation
import Testing

/// `scripts/apt-get-waiting`, which `scripts/deploy` and `.ci/run` install packages with: another apt holding a
/// lock (a fresh VM's automatic update) is waited out, any other failure is not.
@Suite struct AptWaitTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/apt-get-waiting").path

    /// Runs the script with a fake `apt-get` first on PATH that fails `lockedRuns` times as a held lock does, then
    /// exits `finally`; returns the outcome and the arguments each run was given.
    func run(lockedRuns: Int, finally status: Int, timeout: Int = 60) async throws
        -> (outcome: Subprocess.Outcome, calls: [String])
    {
        let directory = NSTemporaryDirectory() + "apt-wait-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let fake = """
            #!/bin/sh
            echo "$*" >>"\(directory)/calls"
            n=$(wc -l <"\(directory)/calls")
            if [ "$n" -le \(lockedRuns) ]; then
                echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242 (apt-get)" >&2
                exit 100
            fi
            [ \(status) -eq 0 ] || echo "E: Unable to locate package no-such-package" >&2
            exit \(status)
            """
        try fake.write(toFile: directory + "/apt-get", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory + "/apt-get")
        let outcome = try await Subprocess.run(
            [Self.script, "install", "-y", "nginx"],
            environment: ["PATH": directory + ":/usr/bin:/bin", "APT_LOCK_RETRY_S": "0.1",
                          "APT_LOCK_TIMEOUT": String(timeout)], timeout: 120)
        let calls = (try? String(contentsOfFile: directory + "/calls", encoding: .utf8)) ?? ""
        return (outcome, calls.split(separator: "\n").map(String.init))
    }

    @Test func aHeldLockIsWaitedOutAndDpkgsLockTooByApt() async throws {
        let (outcome, calls) = try await run(lockedRuns: 2, finally: 0)
        #expect(outcome.succeeded, "\(outcome.tail())")
        #expect(calls.count == 3, "\(calls)")
        #expect(calls.allSatisfy { $0 == "-o DPkg::Lock::Timeout=60 install -y nginx" }, "\(calls)")
        #expect(outcome.stderrText.contains("another apt or dpkg holds a lock"), "said once: \(outcome.stderrText)")
    }

    @Test func anotherFailureIsNotRetriedAndKeepsItsStatusAndMessage() async throws {
        let (outcome, calls) = try await run(lockedRuns: 0, finally: 100)
        #expect(outcome.ending == .exited(100))
        #expect(calls.count == 1)
        #expect(outcome.stderrText.contains("Unable to locate package"), "\(outcome.stderrText)")
    }

    @Test func aLockHeldPastTheTimeLimitFailsWithAptsError() async throws {
        // 5 s, not 1: on a loaded machine the first run alone took over a second, leaving no time for a second.
        let (outcome, calls) = try await run(lockedRuns: 1000, finally: 0, timeout: 5)
        #expect(outcome.ending == .exited(100))
        #expect(calls.count >= 2, "tried again before giving up: \(calls)")
        #expect(outcome.stderrText.contains("Could not get lock"))
    }
}
