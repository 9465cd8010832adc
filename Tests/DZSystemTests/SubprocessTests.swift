import DZSystem
import Foundation
import Testing

@Suite struct SubprocessTests {
    @Test func capturesOutputAndExitStatus() async throws {
        let outcome = try await Subprocess.run(["sh", "-c", "echo out; echo err >&2; exit 3"])
        #expect(outcome.ending == .exited(3))
        #expect(outcome.stdoutText == "out\n")
        #expect(outcome.stderrText == "err\n")
        #expect(!outcome.succeeded)
    }

    @Test func argumentsAreNeverAShell() async throws {
        let outcome = try await Subprocess.run(["echo", "$(id)", "; rm -rf /", "a b"])
        #expect(outcome.stdoutText == "$(id) ; rm -rf / a b\n")
    }

    @Test func theChildInheritsOnlyItsStandardDescriptors() async throws {
        // A descriptor of ours without close-on-exec, as a service manager or a test harness leaves them.
        let fd = open("/dev/null", O_RDONLY)
        try #require(fd > 2)
        defer { close(fd) }
        let outcome = try await Subprocess.run(["ls", "/proc/self/fd"])
        let descriptors = outcome.stdoutText.split(separator: "\n").compactMap { Int32($0) }
        #expect(!descriptors.contains(fd), "inherited: \(descriptors)")
        #expect(descriptors.filter { $0 > 2 }.count <= 1, "only ls's own directory handle: \(descriptors)")
    }

    @Test func feedsStandardInput() async throws {
        let outcome = try await Subprocess.run(["cat"], input: Array("hello\n".utf8))
        #expect(outcome.stdoutText == "hello\n")
    }

    @Test func timeLimitKillsTheWholeProcessGroup() async throws {
        // The shell prints its background child's pid, then waits: at the time limit both must go.
        let outcome = try await Subprocess.run(["sh", "-c", "sleep 60 & echo $!; sleep 60"], timeout: 1, killGrace: 1)
        #expect(outcome.ending == .timedOut)
        let grandchild = try #require(Int32(outcome.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)))
        // Orphaned, it is reaped by init: poll (bounded) until it is gone rather than sleep a fixed time.
        var gone = false
        for _ in 0..<250 where !gone {
            gone = !Host.isAlive(pid: grandchild)
            if !gone { try await Task.sleep(nanoseconds: 20_000_000) }
        }
        #expect(gone, "the grandchild \(grandchild) outlived its group")
    }

    @Test func cancellationKillsTheChild() async throws {
        let run = Task { try await Subprocess.run(["sleep", "30"], killGrace: 1) }
        try await Task.sleep(nanoseconds: 200_000_000)
        run.cancel()
        let outcome = try await run.value
        #expect(outcome.ending == .cancelled)
    }

    @Test func childThatIgnoresItsInputDoesNotKillUs() async throws {
        // 4 MiB into `true`, which exits at once: the write gets EPIPE, never a process-killing SIGPIPE.
        let outcome = try await Subprocess.run(["true"], input: [UInt8](repeating: 65, count: 4 << 20))
        #expect(outcome.succeeded)
    }

    @Test func missingProgramIsAClearError() async {
        await #expect(throws: Subprocess.Failure.notFound("no-such-program-dz")) {
            try await Subprocess.run(["no-such-program-dz"])
        }
    }

    @Test func outputIsCappedButDrained() async throws {
        let outcome = try await Subprocess.run(["sh", "-c", "head -c 300000 /dev/zero"], outputLimit: 1000)
        #expect(outcome.stdout.count == 1000)
        #expect(outcome.dropped == 299_000)
        #expect(outcome.succeeded)
    }

    @Test func theEndOfALongOutputCanBeKeptInstead() async throws {
        let outcome = try await Subprocess.run(["sh", "-c", "seq 1 100000; echo last >&2"], outputLimit: 20,
                                               kept: .tail)
        #expect(outcome.stdoutText == "\n99998\n99999\n100000\n")
        #expect(outcome.stderrText == "last\n")
        #expect(outcome.dropped == Array((1...100_000).map(String.init).joined(separator: "\n").utf8).count + 1 - 20)
    }
}
