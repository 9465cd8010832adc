import DZSpool
import Foundation
import Testing

extension Integration {
    /// Malformed files dropped by hand: each moved to `failed/` with its reason, while good tasks around them
    /// complete and the agent keeps serving.
    @Suite(.serialized) struct BadInputTests {
        /// One malformed file: its name in `new/`, the `kind=` its reason must give, and how to make it.
        struct BadFile: Sendable, CustomStringConvertible {
            var name: String
            var kind: String
            var make: @Sendable (TestSpool, String) throws -> Void

            var description: String { name }

            static func content(_ name: String, _ kind: String, _ bytes: [UInt8]) -> BadFile {
                BadFile(name: name, kind: kind) { spool, path in try spool.write(bytes, to: path) }
            }
        }

        static let corpus: [BadFile] = [
            .content("c01-truncated.json", "json", bytes(#"{"task": "noop", "args": {"#)),
            .content("c03-array.json", "type", bytes(#"[{"task": "noop"}]"#)),
            .content("c05-number.json", "type", bytes("42")),
            .content("c07-invalid-utf8.json", "encoding", bytes(#"{"task": "noop", "x": ""#) + [0xFF, 0xFE, 0xC3] + bytes(#""}"#)),
            .content("c09-attempt-string.json", "field", bytes(#"{"task": "noop", "attempt": "x"}"#)),
            .content("c11-args-array.json", "field", bytes(#"{"task": "noop", "args": []}"#)),
            .content("c13-missing-task.json", "field", bytes(#"{"args": {}}"#)),
            .content("c15-unknown-task.json", "unknown-task", bytes(#"{"task": "no-such-task"}"#)),
            .content("c17-too-large.json", "too-large",
                     bytes(#"{"task": "noop", "pad": ""# + String(repeating: "x", count: 1 << 20) + #""}"#)),
            .content("c19-empty.json", "empty", []),
            .content("c21-id-differs.json", "name", bytes(#"{"id": "someone-else", "task": "noop"}"#)),
            .content("bad name.json", "name", bytes(#"{"task": "noop"}"#)),
            BadFile(name: "x.json", kind: "not-a-file") { _, path in
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            },
            BadFile(name: "c23-passwd-link.json", kind: "symlink") { _, path in
                try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "/etc/passwd")
            },
        ]

        /// Names dz must not even look at.
        static let ignored = [".x.json", ".nfs1234", "foo.txt"]

        @Test(.timeLimit(.minutes(3)))
        func malformedFilesGoToFailedWithReasonsWhileGoodTasksComplete() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let newDir = spool.path("build", "new")

            // Good and bad interleaved by name, so that the agent (FIFO by name) meets them alternately.
            var good: [String] = []
            for number in 0..<20 {
                let name = String(format: "c%02d-good.json", number * 2)
                try spool.write(bytes(#"{"task": "noop"}"#), to: newDir + "/" + name)
                good.append(name)
            }
            for bad in Self.corpus { try bad.make(spool, newDir + "/" + bad.name) }
            for name in Self.ignored { try spool.write(bytes(#"{"task": "noop"}"#), to: newDir + "/" + name) }
            // Written an hour ago as far as the agent can tell: settled, not a copy under way.
            for name in good + Self.corpus.map(\.name) + Self.ignored {
                let path = newDir + "/" + name
                var isDirectory: ObjCBool = false
                guard !spool.isSymbolicLink(path), FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory),
                      !isDirectory.boolValue else { continue }
                try spool.age(path, secondsAgo: 3600)
            }

            let agent = try await spool.startAgent(host: "h1", ["--rescan", "200ms"])
            let settled = await waitUntil(timeout: 60) {
                Set(spool.names("build", "new")) == Set(Self.ignored) && spool.names("build", "cur").isEmpty
            }
            try #require(settled, "new/ still holds \(spool.names("build", "new")), cur/ \(spool.names("build", "cur"))\n\(agent.errorTail)")

            for bad in Self.corpus {
                let placed = spool.findInDays("build", "failed", bad.name)
                #expect(placed != nil, "\(bad.name) is not in failed/: \(spool.dayFiles("build", "failed"))")
                guard let placed else { continue }
                let reasonData = FileManager.default.contents(atPath: placed + ".reason")
                #expect(reasonData != nil, "no \(bad.name).reason")
                let reason = AuditRecord(Substring(String(decoding: reasonData ?? Data(), as: UTF8.self)))
                #expect(reason["kind"] == bad.kind, "\(bad.name): \(reason)")
                #expect(reason["file"] == bad.name, "\(bad.name): \(reason)")
                let rejected = spool.records(event: "rejected").filter { $0["file"] == bad.name }
                #expect(rejected.count == 1 && rejected.first?["kind"] == bad.kind, "\(bad.name): \(rejected)")
            }
            // The symlink was moved, not followed: it still points where it pointed.
            if let link = spool.findInDays("build", "failed", "c23-passwd-link.json") {
                #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: link)) == "/etc/passwd")
            }
            // Nothing was deleted: each bad file and its reason, nothing else.
            #expect(spool.dayFiles("build", "failed").count == 2 * Self.corpus.count, "\(spool.dayFiles("build", "failed"))")

            for name in good {
                #expect(spool.findInDays("build", "done", name) != nil, "\(name) is not done")
                #expect(try spool.result(String(name.dropLast(5)))?.status == .ok, "no ok result for \(name)")
            }
            #expect(spool.dayFiles("build", "done").count == good.count)

            // Still alive, still serving.
            #expect(agent.isRunning, "\(agent.errorTail)")
            let after = try await spool.send("noop")
            let served = await waitUntil(timeout: 30) { spool.isSettled(after) }
            #expect(served, "a good task dropped after the bad ones was not served\n\(agent.errorTail)")
            #expect(agent.isRunning, "\(agent.errorTail)")
            #expect(Set(spool.names("build", "new")) == Set(Self.ignored))
        }
    }
}
