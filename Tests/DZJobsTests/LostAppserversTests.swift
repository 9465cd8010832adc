@testable import DZJobs
import DZSpool
import DZSystem
import Testing

/// When the coordinator takes an appserver for gone: no heartbeat for longer than the limit, counted from the
/// coordinator's start for an appserver it has not heard from since.
@Suite struct LostAppserversTests {
    let start = Timestamp(nanoseconds: 1_800_000_000_000_000_000)

    func at(_ seconds: Double) -> Timestamp { start + seconds }

    func heartbeat(_ host: String, _ queues: [String], updated seconds: Double) throws -> Heartbeat {
        Heartbeat(host: try HostID(host), pid: 1, version: "test", queues: try queues.map { try QueueName($0) },
                  running: [], concurrency: 1, started: start, updated: at(seconds))
    }

    @Test func anAppserverNeverSeenCountsFromTheStart() {
        let watch = LostAppservers(limit: 60, now: start)
        #expect(watch.lost(among: ["app1"], heartbeats: [], now: at(60)).isEmpty, "not past the limit yet")
        #expect(watch.lost(among: ["app1", "app2"], heartbeats: [], now: at(61)) == ["app1", "app2"])
    }

    @Test func aFreshHeartbeatResetsTheClockAndIsRemembered() throws {
        let watch = LostAppservers(limit: 60, now: start)
        let beat = try heartbeat("host1", ["build", "appserver_app1"], updated: 50)
        #expect(watch.lost(among: ["app1", "app2"], heartbeats: [beat], now: at(100)) == ["app2"])
        #expect(watch.lost(among: ["app1"], heartbeats: [], now: at(110)).isEmpty,
                "the heartbeat file gone (a clean exit) still counts from when it was seen")
        #expect(watch.lost(among: ["app1"], heartbeats: [], now: at(111)) == ["app1"])
        let again = try heartbeat("host1", ["appserver_app1"], updated: 200)
        #expect(watch.lost(among: ["app1"], heartbeats: [again], now: at(230)).isEmpty, "back again")
    }

    @Test func anOlderHeartbeatDoesNotTurnTheClockBack() throws {
        let watch = LostAppservers(limit: 60, now: start)
        let new = try heartbeat("host1", ["appserver_app1"], updated: 100)
        let old = try heartbeat("host2", ["appserver_app1"], updated: 10)
        #expect(watch.lost(among: ["app1"], heartbeats: [new, old], now: at(150)).isEmpty)
        #expect(watch.lost(among: ["app1"], heartbeats: [old], now: at(150)).isEmpty)
        #expect(watch.lost(among: ["app1"], heartbeats: [old], now: at(161)) == ["app1"])
    }

    @Test func onlyAppserverQueuesCountAndOnlyTheAppserversAskedAbout() throws {
        let watch = LostAppservers(limit: 60, now: start)
        let beats = [try heartbeat("app1", ["build", "proxy", "app1"], updated: 100),
                     try heartbeat("host2", ["appserver_app2", "appserver_app3"], updated: 100)]
        #expect(watch.lost(among: ["app1", "app2", "app3"], heartbeats: beats, now: at(120)) == ["app1"],
                "a host named like an appserver is not one; a host may serve several appservers")
        #expect(watch.lost(among: ["app3"], heartbeats: [], now: at(161)) == ["app3"])
        #expect(watch.lost(among: [], heartbeats: beats, now: at(1000)).isEmpty)
    }

    @Test func aHeartbeatFromBeforeTheStartCountsFromTheStart() throws {
        let watch = LostAppservers(limit: 60, now: start)
        let stale = try heartbeat("host1", ["appserver_app1"], updated: -3600)
        #expect(watch.lost(among: ["app1"], heartbeats: [stale], now: at(30)).isEmpty,
                "a restarted coordinator gives every appserver the limit to be heard from")
        #expect(watch.lost(among: ["app1"], heartbeats: [stale], now: at(61)) == ["app1"])
    }
}
