import DZSpool
import Foundation
import Testing

extension Integration {
    /// How an agent stops: SIGTERM gives running tasks back unchanged; `--drain` exits once the queue is empty.
    @Suite(.serialized) struct ShutdownTests {
        @Test(.timeLimit(.minutes(3)))
        func sigtermReleasesTheRunningTaskUnchangedAndExitsZero() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let agent = try await spool.startAgent(host: "h1", ["--grace", "1s", "--rescan", "200ms"])
            let id = try await spool.send("sleep", "--arg", "seconds=30")
            let started = await waitUntil(timeout: 60) { !spool.records(event: "started", task: id).isEmpty }
            try #require(started, "the sleep task never started\n\(agent.errorTail)")

            agent.send(SIGTERM)
            let exited = await agent.waitForExit(timeout: 60)
            try #require(exited, "the agent did not exit after SIGTERM (grace 1s)\n\(agent.errorTail)")
            #expect(agent.exitStatus == 0, "\(agent.errorTail)")

            let waiting = spool.path("build", "new") + "/" + id + ".json"
            #expect(FileManager.default.fileExists(atPath: waiting), "not back in new/: new \(spool.names("build", "new")), cur \(spool.names("build", "cur"))")
            if FileManager.default.fileExists(atPath: waiting) {
                let task = try spool.task(at: waiting)
                #expect(task.attempt == 1)
                #expect(task.notBefore == nil)
            }
            #expect(spool.names("build", "cur").isEmpty)
            #expect(try spool.result(id) == nil, "a released task must not report a result")
            let released = spool.records(event: "released", task: id)
            #expect(released.count == 1 && released.first?["attempt"] == "1", "\(released)")
            #expect(spool.records(event: "finished", task: id).isEmpty)
            #expect(!FileManager.default.fileExists(atPath: spool.root + "/hosts/h1@\(agent.pid).json"),
                    "the heartbeat of a cleanly stopped agent must be removed")
        }

        @Test(.timeLimit(.minutes(3)))
        func drainingAgentExitsZeroWhenTheQueueIsEmpty() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            var ids: [String] = []
            for _ in 0..<10 { ids.append(try await spool.send("noop")) }

            let agent = try spool.start(["agent", "-Q", "build", "--host-id", "h1", "--drain"], label: "agent-h1")
            let exited = await agent.waitForExit(timeout: 60)
            try #require(exited, "the --drain agent did not exit: done \(spool.dayFiles("build", "done").count)\n\(agent.errorTail)")
            #expect(agent.exitStatus == 0, "\(agent.errorTail)")
            #expect(Set(spool.dayNames("build", "done")) == Set(ids.map { $0 + ".json" }))
            #expect(spool.names("build", "new").isEmpty)
            #expect(spool.names("build", "cur").isEmpty)
            for id in ids { #expect(try spool.result(id)?.status == .ok, "no result for \(id)") }
        }
    }
}
