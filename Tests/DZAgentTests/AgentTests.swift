import DZAgent
import DZSpool
import DZSystem
import Foundation
import Logging
import Testing

/// The agent in this process, on a temporary spool: claims, runs, retries and drains.
@Suite struct AgentTests {
    func makeSpool() throws -> Spool {
        var template = Array("/tmp/dz-agent-XXXXXX".utf8CString)
        let root = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        let spool = Spool(root: root, host: try HostID("agent-test"), sync: false)
        try spool.initialize()
        return spool
    }

    func drainAgent(_ spool: Spool, concurrency: Int = 2) -> Agent {
        var configuration = AgentConfiguration(queues: [try! QueueName("build")])
        configuration.drain = true
        configuration.concurrency = concurrency
        configuration.rescanInterval = 0.1
        return Agent(spool: spool, configuration: configuration, logger: Logger(label: "test"), version: "test")
    }

    func results(_ spool: Spool) throws -> [String: ResultFile] {
        var found: [String: ResultFile] = [:]
        for name in try FileSystem.names(in: spool.path(.results, .new)) {
            let result = try ResultFile(parsing: try FileIO.readAll(spool.path(.results, .new) + "/" + name))
            found[result.id.rawValue] = result
        }
        return found
    }

    @Test func drainRunsEverythingAndExits() async throws {
        let spool = try makeSpool()
        defer { try? FileManager.default.removeItem(atPath: spool.root) }
        let build = try QueueName("build")
        for index in 0..<50 {
            try spool.drop(TaskFile(id: try TaskID("t\(index)"), task: "echo", args: ["n": .int(Int64(index))]),
                           into: build)
        }
        try spool.drop(TaskFile(id: try TaskID("unknown"), task: "nosuch"), into: build)
        try await drainAgent(spool).run()
        let found = try results(spool)
        #expect(found.count == 50)
        #expect(found["t7"]?.output["n"] == .int(7))
        #expect(found.values.allSatisfy { $0.status == .ok && $0.host.rawValue == "agent-test" })
        #expect(spool.status(of: build).failed == 1)
        #expect(spool.heartbeats().isEmpty, "the heartbeat is removed on a clean exit")
    }

    @Test func retryableFailureIsRetriedThenReported() async throws {
        let spool = try makeSpool()
        defer { try? FileManager.default.removeItem(atPath: spool.root) }
        let build = try QueueName("build")
        try spool.drop(TaskFile(id: try TaskID("flaky"), task: "fail",
                                args: ["message": .string("down"), "retryable": .bool(true)],
                                maxAttempts: 2, backoffSeconds: 0), into: build)
        try await drainAgent(spool).run()
        let found = try results(spool)
        #expect(found["flaky"]?.status == .error)
        #expect(found["flaky"]?.attempt == 2)
        #expect(found["flaky"]?.error?.message == "down")
    }

    @Test func timeoutIsAnErrorResultAfterLastAttempt() async throws {
        let spool = try makeSpool()
        defer { try? FileManager.default.removeItem(atPath: spool.root) }
        try spool.drop(TaskFile(id: try TaskID("slow"), task: "sleep", args: ["seconds": .int(30)], maxAttempts: 1,
                                timeoutSeconds: 0.2), into: try QueueName("build"))
        try await drainAgent(spool).run()
        #expect(try results(spool)["slow"]?.error?.kind == "timeout")
    }
}
