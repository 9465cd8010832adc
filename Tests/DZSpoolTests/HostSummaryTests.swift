import DZSpool
import DZSystem
import Testing

@Suite struct HostSummaryTests {
    @Test func freshestFirstStaleMarkedAndInstancesCountedPerAppserver() throws {
        let now = Timestamp.now()
        func beat(_ host: String, _ queues: [String], age: Double) throws -> Heartbeat {
            try Heartbeat(host: HostID(host), pid: 7, version: "t", queues: queues.map { try QueueName($0) },
                          running: [], concurrency: 4, started: now,
                          updated: Timestamp(nanoseconds: now.nanoseconds - Int64(age * 1e9)))
        }
        let beats = [try beat("old", ["appserver_a"], age: 120), try beat("web", ["appserver_b", "appserver_c"], age: 1),
                     try beat("builder", ["build"], age: 3)]
        let hosts = HostSummary.summaries(beats, instances: ["a": 1, "b": 2, "c": 3], now: now, maxAge: 30)
        #expect(hosts.map(\.heartbeat.host.rawValue) == ["web", "builder", "old"])
        #expect(hosts.map(\.isStale) == [false, false, true])
        #expect(hosts.map(\.instances) == [5, 0, 1])
        #expect(hosts[0].appservers == ["b", "c"])
        #expect(hosts[0].jsonObject["state"] == .string("up"))
        #expect(HostSummary.summaries(beats, instances: nil, now: now).allSatisfy { $0.instances == nil })
    }

    @Test func uptimeIsTheAgentsNotTheMachines() throws {
        let now = Timestamp.now()
        var beat = try Heartbeat(host: HostID("web"), pid: 7, version: "t", queues: [], running: [], concurrency: 1,
                                 started: Timestamp(nanoseconds: now.nanoseconds - 90_000_000_000), updated: now)
        beat.uptime = 86_400 * 30
        let host = try #require(HostSummary.summaries([beat], instances: nil, now: now).first)
        #expect(host.agentUptime == 90)
        #expect(host.jsonObject["agent_uptime_s"] == .double(90))
        #expect(host.jsonObject["uptime_s"] == .double(86_400 * 30), "the machine's stays in the JSON")
    }
}
