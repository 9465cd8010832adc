import DZSpool
import Foundation
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension Integration {
    /// A file copied into `new/` the way `cp` does it (created there, then written in pieces) is never parsed
    /// half-way and rejected; one that stays unparseable is rejected once it has settled.
    @Suite(.serialized) struct PartialWriteTests {
        /// A file created in place and written in two parts with a pause between, like a slow `cp`.
        struct SlowWriter {
            let fd: Int32
            let path: String

            /// Creates `path` (`O_CREAT | O_EXCL`): inotify reports IN_CREATE now, while it is still empty.
            init(creating path: String) throws {
                fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
                guard fd >= 0 else { throw SetupFailure("open \(path): errno \(errno)") }
                self.path = path
            }

            func write(_ text: String) throws {
                let data = Array(text.utf8)
                let written = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                guard written == data.count else { throw SetupFailure("write \(path): errno \(errno)") }
            }

            func close() { _ = Glibc.close(fd) }
        }

        @Test(.timeLimit(.minutes(3)))
        func slowlyCopiedFileCompletesAsAGoodTask() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let agent = try await spool.startAgent(host: "h1", ["--settle", "10s", "--rescan", "200ms"])

            let writer = try SlowWriter(creating: spool.path("build", "new") + "/slow-copy.json")
            var closed = false
            defer { if !closed { writer.close() } }
            try writer.write(#"{"task":"#)
            // The copy under way: the agent sees the half-written file (events, rescans) meanwhile. This pause is
            // the scenario, not a synchronisation.
            try await Task.sleep(for: .milliseconds(1500))
            try writer.write(#" "noop"}"#)
            writer.close()
            closed = true

            let completed = await waitUntil(timeout: 60) { spool.isSettled("slow-copy") }
            try #require(completed, """
                the slowly copied task was not completed: new \(spool.names("build", "new")), failed \
                \(spool.dayFiles("build", "failed"))\n\(agent.errorTail)
                """)
            #expect(try spool.result("slow-copy")?.status == .ok)
            #expect(spool.findInDays("build", "done", "slow-copy.json") != nil)
            #expect(spool.dayFiles("build", "failed").isEmpty, "rejected: \(spool.dayFiles("build", "failed"))")
            #expect(spool.records(event: "rejected").isEmpty)
        }

        /// The agent must take the file when its writer closes it (IN_CLOSE_WRITE, or the rescan), not only once
        /// the settle time has passed: with `--settle 60s`, a 1.5 s copy must not wait a minute.
        @Test(.timeLimit(.minutes(3)))
        func slowlyCopiedFileIsTakenOnceClosedNotAfterTheSettleTime() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let agent = try await spool.startAgent(host: "h1", ["--settle", "60s", "--rescan", "200ms"])

            let writer = try SlowWriter(creating: spool.path("build", "new") + "/slow-copy.json")
            var closed = false
            defer { if !closed { writer.close() } }
            try writer.write(#"{"task":"#)
            try await Task.sleep(for: .milliseconds(1500))
            try writer.write(#" "noop"}"#)
            writer.close()
            closed = true

            // 30 s: far more than the copy needs on a busy machine, far less than the 60 s settle time.
            let completed = await waitUntil(timeout: 30) { spool.isSettled("slow-copy") }
            #expect(completed, """
                the finished copy was not taken within 30 s of its close (settle is 60 s): new \
                \(spool.names("build", "new")), cur \(spool.names("build", "cur"))\n\(agent.errorTail)
                """)
            #expect(spool.dayFiles("build", "failed").isEmpty, "rejected: \(spool.dayFiles("build", "failed"))")
        }

        @Test(.timeLimit(.minutes(3)))
        func fileLeftTruncatedIsRejectedAfterTheSettleTime() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let agent = try await spool.startAgent(host: "h1", ["--settle", "1s", "--rescan", "200ms"])

            let writer = try SlowWriter(creating: spool.path("build", "new") + "/truncated.json")
            try writer.write(#"{"task":"#)
            writer.close()

            let rejected = await waitUntil(timeout: 60) {
                spool.findInDays("build", "failed", "truncated.json.reason") != nil
            }
            try #require(rejected, """
                the truncated file was not rejected: new \(spool.names("build", "new")), cur \
                \(spool.names("build", "cur"))\n\(agent.errorTail)
                """)
            let reasonPath = try #require(spool.findInDays("build", "failed", "truncated.json.reason"))
            let reason = AuditRecord(Substring(try String(contentsOfFile: reasonPath, encoding: .utf8)))
            #expect(reason["kind"] == "json", "\(reason)")
            #expect(spool.findInDays("build", "failed", "truncated.json") != nil)
            #expect(spool.names("build", "new").isEmpty)
            #expect(spool.names("build", "cur").isEmpty)
            #expect(agent.isRunning, "\(agent.errorTail)")
        }
    }
}
