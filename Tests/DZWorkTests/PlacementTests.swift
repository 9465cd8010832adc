import DZSpool
import DZSystem
import DZWork
import Testing

/// Placement from heartbeats: who is an appserver, who is healthy, who is least loaded.
@Suite struct PlacementTests {
    let now = Timestamp.now()

    func heartbeat(_ host: String, queues: [String], age: Double = 1, load: Double = 0.1, memory: UInt64 = 1 << 30)
        throws -> Heartbeat
    {
        var beat = Heartbeat(host: try HostID(host), pid: 1, version: "t", queues: try queues.map { try QueueName($0) },
                             running: [], concurrency: 4, started: Timestamp(nanoseconds: now.nanoseconds - 100_000_000_000),
                             updated: Timestamp(nanoseconds: now.nanoseconds - Int64(age * 1e9)))
        beat.loadAverage = [load, load, load]
        beat.memoryAvailable = memory
        return beat
    }

    @Test func onlyFreshAppserversAreChosenLeastLoadedFirst() throws {
        let beats = [
            try heartbeat("builder", queues: ["build", "database"]),
            try heartbeat("a", queues: ["appserver_a"], load: 3),
            try heartbeat("b", queues: ["appserver_b"], load: 0.2),
            try heartbeat("c", queues: ["appserver_c"], age: 120),
            try heartbeat("d", queues: ["appserver_d"], load: 0.2, memory: 1 << 33),
        ]
        let ranked = Placement(maxAge: 30).rank(beats, now: now)
        #expect(ranked.healthy.map(\.id) == ["d", "b", "a"], "equal load: more free memory first")
        #expect(ranked.unhealthy.map(\.id) == ["c"])
        let fewer = Placement(maxAge: 30, instances: ["d": 2, "b": 1]).rank(beats, now: now)
        #expect(fewer.healthy.map(\.id) == ["a", "b", "d"], "running instances count first")
    }

    @Test func moreInstancesThanAppserversGoRoundAgain() throws {
        let beats = [try heartbeat("a", queues: ["appserver_a"]), try heartbeat("b", queues: ["appserver_b"], load: 1)]
        #expect(try Placement().choose(3, from: beats, now: now).map(\.id) == ["a", "b", "a"])
        #expect(try Placement(excluded: ["a"]).choose(2, from: beats, now: now).map(\.id) == ["b", "b"])
    }

    @Test func noHealthyAppserverSaysWhy() throws {
        let beats = [try heartbeat("a", queues: ["appserver_a"], age: 90)]
        #expect(throws: PlacementError.self) { try Placement(maxAge: 30).choose(1, from: beats, now: now) }
        do {
            _ = try Placement(maxAge: 30).choose(1, from: beats, now: now)
        } catch {
            #expect(error.description.contains("a: heartbeat 90 s old"))
        }
        #expect(throws: PlacementError.self) { try Placement().choose(1, from: [], now: now) }
    }

    @Test func theNewestHeartbeatOfAnAppserverCounts() throws {
        let beats = [try heartbeat("a", queues: ["appserver_a"], age: 100), try heartbeat("a2", queues: ["appserver_a"], age: 2)]
        let ranked = Placement(maxAge: 30).rank(beats, now: now)
        #expect(ranked.healthy.map(\.host) == ["a2"])
    }
}
