import DZSpool
import Foundation
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension Integration {
    /// What lands in the coordinator's inboxes cannot stop its intake.
    @Suite(.serialized) struct CoordinatorInboxTests {
        /// A name of 246 bytes 0xFF: not UTF-8, and, decoded with each byte replaced by U+FFFD (3 bytes), too long
        /// for the file system to look up. Before, every sweep failed on it and paused all intake, results too.
        @Test(.timeLimit(.minutes(3)))
        func nameThatIsNotUTF8IsSetAsideAndIntakeGoesOn() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let name = Array("x".utf8) + [UInt8](repeating: 0xFF, count: 246) + Array(".json".utf8)
            for queue in ["jobs", "results"] {
                let staged = spool.directory + "/staged-" + queue
                try spool.write(bytes("{}"), to: staged)
                let target = Array((spool.path(queue, "new") + "/").utf8) + name + [0]
                let moved = target.withUnsafeBufferPointer { buffer in
                    buffer.withMemoryRebound(to: CChar.self) { rename(staged, $0.baseAddress!) }
                }
                try #require(moved == 0, "rename: errno \(errno)")
            }
            try spool.write(bytes(#"{"id": "r1", "status": "ok"}"#), to: spool.path("results", "new") + "/r1.json")
            let coordinator = try spool.start(["coordinator", "--rescan", "200ms"], label: "coordinator")
            let taken = await waitUntil(timeout: 30) { spool.findInDays("results", "done", "r1.json") != nil }
            #expect(taken, "a result waiting beside the name was never taken in\n\(coordinator.errorTail)")
            let moved = "unreadable-name-78" + String(repeating: "ff", count: 99) + ".json"
            for queue in ["jobs", "results"] {
                let setAside = await waitUntil(timeout: 30) { spool.findInDays(queue, "failed", moved) != nil }
                #expect(setAside, "\(queue): \(spool.dayFiles(queue, "failed"))")
                let reason = spool.findInDays(queue, "failed", moved + ".reason")
                    .flatMap { FileManager.default.contents(atPath: $0) }
                    .map { AuditRecord(Substring(String(decoding: $0, as: UTF8.self))) }
                #expect(reason?["kind"] == "name", "\(queue): \(String(describing: reason))")
            }
            #expect(coordinator.isRunning, "\(coordinator.errorTail)")
            #expect(!coordinator.standardError.contains("intake failed"), "\(coordinator.errorTail)")
        }
    }
}
