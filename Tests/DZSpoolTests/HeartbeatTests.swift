import DZSpool
import DZSystem
import Testing

/// Heartbeats say which boot and process wrote them: a killed agent's is recognised and pruned, and a host id
/// that two machines share is noticed.
@Suite struct HeartbeatTests {
    @Test func killedAgentsHeartbeatIsPrunedAndALiveOneKept() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        let dead = Heartbeat(host: temp.spool.host, pid: 4_194_305, version: "t", queues: [build], running: [],
                             concurrency: 1, started: .now())
        let alive = Heartbeat(host: temp.spool.host, pid: Host.pid, version: "t", queues: [build], running: [],
                              concurrency: 1, started: .now())
        try temp.spool.write(dead)
        try temp.spool.write(alive)
        #expect(temp.spool.isGone(dead) && !temp.spool.isGone(alive))
        #expect(temp.spool.pruneDeadHeartbeats() == 1)
        #expect(temp.spool.heartbeats().map(\.pid) == [Host.pid])
    }

    @Test func freshHeartbeatOfAnotherBootUnderThisHostIDIsAConflict() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        var other = Heartbeat(host: temp.spool.host, pid: 77, version: "t", queues: [build], running: [],
                              concurrency: 1, started: .now())
        other.bootID = "00000000-0000-0000-0000-000000000000"
        try temp.spool.write(other)
        #expect(temp.spool.conflictingHeartbeats().map(\.pid) == [77])
        // Not gone: this machine cannot tell whether another machine's process lives.
        #expect(!temp.spool.isGone(other))
        // An old one (before a reboot, say) is no conflict.
        #expect(temp.spool.conflictingHeartbeats(now: .now() + 60).isEmpty)
        let parsed = try Heartbeat(parsing: JSONValue.object(other.jsonObject).serialized())
        #expect(parsed.bootID == other.bootID)
    }
}
