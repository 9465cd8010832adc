import DZSpool
import DZSystem
import Logging
import Synchronization
import Testing

/// Wake-up rings: the datagram, the throttle, the listener (what it ignores), the ringer (whom it rings, from the
/// heartbeats and the coordinator's lease) and the spool's hook (a ring after each file put into `new/`).
@Suite struct WakeupTests {
    static let spoolID = "0123456789abcdef0123456789abcdef"

    // MARK: The datagram

    @Test func aRingIsOneLineNamingTheSpoolAndTheQueueAndReadsBack() throws {
        let ring = WakeRing(spoolID: Self.spoolID, queue: try QueueName("appserver_app1"))
        #expect(String(decoding: ring.encoded(), as: UTF8.self) == "dz-wake/1 \(Self.spoolID) appserver_app1\n")
        #expect(try WakeRing(parsing: ring.encoded()) == ring)
        let longest = WakeRing(spoolID: String(repeating: "a", count: 64), queue: try QueueName(String(repeating: "q", count: 64)))
        #expect(longest.encoded().count <= WakeRing.maxSize)
        #expect(try WakeRing(parsing: longest.encoded()) == longest)
    }

    @Test(arguments: [
        "", "\n", "dz-wake/1 abc build", "dz-wake/1 abc build\n\n", "dz-wake/2 abc build\n", "dz-wake/1  abc build\n",
        "dz-wake/1 abc build extra\n", "dz-wake/1 abc ../build\n", "dz-wake/1 abc Build\n", "dz-wake/1 abc log\n",
        "dz-wake/1 a/c build\n", "dz-wake/1 abc bu\u{0}ild\n", "dz-wake/1 abc bu\tild\n", "dz-wake/1 abc\tbuild\n",
        "DZ-WAKE/1 abc build\n", "dz-wake/1 abc build\r\n", "dz-wake/1 \(String(repeating: "a", count: 65)) build\n",
        "dz-wake/1 abc \(String(repeating: "b", count: 65))\n", "dz-wake/1 abc /srv/dz/spool/build/new\n",
        "{\"queue\": \"build\"}\n", "dz-wake/1 abc bùild\n",
    ])
    func anythingButAWellFormedRingIsRefused(text: String) {
        #expect(throws: BadInput.self) { try WakeRing(parsing: Array(text.utf8)) }
    }

    @Test func garbageOfEverySizeIsRefusedWithoutTrapping() {
        var generator = SystemRandomNumberGenerator()
        for size in [0, 1, 2, 10, 40, 159, 160, 161, 1000] {
            for _ in 0..<200 {
                let bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
                _ = try? WakeRing(parsing: bytes)
            }
        }
        #expect(throws: BadInput.self) { try WakeRing(parsing: [UInt8](repeating: 0x41, count: 100_000)) }
    }

    // MARK: The throttle

    @Test func ringsWhileAScanIsDueAreFoldedIntoIt() throws {
        var throttle = WakeThrottle()
        let queue = try QueueName("build")
        let now = Timestamp.now()
        #expect(throttle.ring(queue, now: now) == .scan)
        #expect(throttle.ring(queue, now: now) == .folded)
        #expect(throttle.ring(queue, now: now + 0.001) == .folded)
        // Once the scan has started, a new ring may name a file the listing missed: it gets a scan of its own.
        throttle.started(queue)
        #expect(throttle.ring(queue, now: now + 0.002) == .scan)
        // Other queues are counted apart.
        #expect(throttle.ring(try QueueName("proxy"), now: now + 0.002) == .scan)
    }

    @Test func aFloodGetsNoMoreScansThanTheRateAndNoRingIsLost() throws {
        let limits = WakeThrottle.Limits(rate: 100, burst: 10, durationFactor: 0)
        var throttle = WakeThrottle(limits: limits)
        let queue = try QueueName("build")
        let start = Timestamp(seconds: 1_000_000)
        var scans = 0
        var owed: Timestamp?
        // A ring every 100 µs for 2 s (20,000 rings), each scan starting as soon as it is handed out.
        for step in 0..<20_000 {
            let now = start + Double(step) * 0.0001
            let (due, _) = throttle.due(now: now)
            for queue in due {
                scans += 1
                throttle.started(queue)
                owed = nil
            }
            switch throttle.ring(queue, now: now) {
            case .scan:
                scans += 1
                throttle.started(queue)
            case .deferred(let at):
                #expect(at > now)
                #expect(at - now <= 0.0101)
                owed = at
            case .folded:
                break
            }
        }
        #expect(scans <= 10 + 2 * 100 + 1, "\(scans) scans")
        #expect(scans >= 2 * 100 - 1, "\(scans) scans: the limit must not starve the queue")
        // The last rings are owed a scan, which comes when the bucket allows.
        let last = try #require(owed)
        #expect(throttle.due(now: last).queues == [queue])
    }

    @Test func aLongScanDelaysTheNext() throws {
        var throttle = WakeThrottle(limits: WakeThrottle.Limits(rate: 1000, burst: 10, durationFactor: 4))
        let queue = try QueueName("build")
        let now = Timestamp(seconds: 1_000_000)
        #expect(throttle.ring(queue, now: now) == .scan)
        throttle.started(queue)
        throttle.finished(queue, seconds: 0.5, now: now + 0.5)
        #expect(throttle.ring(queue, now: now + 0.6) == .deferred(now + 2.5))
        #expect(throttle.due(now: now + 2.4).queues.isEmpty)
        #expect(throttle.due(now: now + 2.5).queues == [queue])
    }

    // MARK: The listener

    /// A listener of `spoolID` on 127.0.0.1 serving `build`, and a socket to send it datagrams.
    private func listener(limits: WakeThrottle.Limits = WakeThrottle.Limits()) throws
        -> (WakeListener, UDPSocket, SocketAddress)
    {
        let listener = try WakeListener(addresses: [try SocketAddress(host: "127.0.0.1", port: 0)], spoolID: Self.spoolID,
                                        queues: [build], limits: limits, logger: Logger(label: "test"))
        return (listener, try UDPSocket(family: .v4), listener.addresses[0])
    }

    /// Polls until `condition` holds or 10 s pass.
    private func eventually(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<1000 {
            if condition() { return true }
            try? await Task.sleep(nanoseconds: 10_000_000)
        }
        return condition()
    }

    @Test func forgedAndGarbageDatagramsAreCountedAndIgnoredAndARingStillGetsThrough() async throws {
        let (listener, sender, address) = try listener()
        defer { listener.stop() }
        #expect(address.port > 0)
        let garbage: [[UInt8]] = [
            Array("hello\n".utf8), [0, 1, 2, 255], [UInt8](repeating: 0x41, count: 2000),
            WakeRing(spoolID: "ffffffffffffffffffffffffffffffff", queue: build).encoded(),
            WakeRing(spoolID: Self.spoolID, queue: try QueueName("proxy")).encoded(),
            Array("dz-wake/1 \(Self.spoolID) ../../etc\n".utf8),
        ]
        for bytes in garbage { try sender.send(bytes, to: address) }
        #expect(await eventually { listener.statistics.received == garbage.count })
        let statistics = listener.statistics
        #expect(statistics.received == 6 && statistics.scans == 0 && statistics.folded == 0)
        #expect(statistics.malformed == 4 && statistics.otherSpool == 1 && statistics.unserved == 1)
        try sender.send(WakeRing(spoolID: Self.spoolID, queue: build).encoded(), to: address)
        var scans = listener.scans.makeAsyncIterator()
        #expect(await scans.next() == build)
        #expect(listener.statistics.scans == 1)
    }

    @Test func aFloodOfRingsBecomesAFewScans() async throws {
        let (listener, sender, address) = try listener(limits: WakeThrottle.Limits(rate: 20, burst: 2))
        defer { listener.stop() }
        let ring = WakeRing(spoolID: Self.spoolID, queue: build).encoded()
        let counted = Mutex(0)
        let consumer = Task {
            for await queue in listener.scans {
                listener.started(queue)
                counted.withLock { $0 += 1 }
                listener.finished(queue, seconds: 0)
            }
        }
        let start = Timestamp.now()
        // Rings in batches until the listener has taken 2,000 of them (a burst larger than its socket's buffer
        // would only be dropped by the kernel).
        while listener.statistics.received < 2000, Timestamp.now() - start < 60 {
            for _ in 0..<50 { try? sender.send(ring, to: address) }
            try await Task.sleep(nanoseconds: 1_000_000)
        }
        #expect(listener.statistics.received >= 2000)
        let elapsed = Timestamp.now() - start
        let scans = counted.withLock { $0 }
        // Two at once, then 20 a second (and one owed at the end): never one per ring.
        #expect(scans >= 1)
        #expect(Double(scans) <= 2 + 20 * elapsed + 1, "\(scans) scans in \(elapsed) s")
        listener.stop()
        await consumer.value
    }

    @Test func theListenerRefusesAWildcardAndParsesItsFlag() throws {
        #expect(throws: SpoolError.self) {
            try WakeListener(addresses: [try SocketAddress(host: "0.0.0.0", port: 0)], spoolID: Self.spoolID,
                             queues: [build], logger: Logger(label: "test"))
        }
        #expect(try WakeListener.addresses(parsing: "10.0.0.5, [fd00::5]:7000").map(\.description)
                == ["10.0.0.5:0", "[fd00::5]:7000"])
        for bad in ["", ",", "0.0.0.0", "[::]:7000", "host.example:7000", "10.0.0.5:99999",
                    Array(repeating: "10.0.0.1", count: 9).joined(separator: ",")] {
            #expect(throws: BadInput.self, "\(bad)") { try WakeListener.addresses(parsing: bad) }
        }
    }

    // MARK: The ringer

    @Test func theRingerRingsEachQueuesPublishedAddressesButNeverItselfAStaleOneOrAWildcard() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        let spoolID = try temp.spool.identity()
        let proxy = try QueueName("proxy")
        let listenerA = try UDPSocket(binding: SocketAddress(host: "127.0.0.1", port: 0))
        let listenerB = try UDPSocket(binding: SocketAddress(host: "::1", port: 0))
        var a = Heartbeat(host: try HostID("hostA"), pid: 10, version: "t", queues: [build], running: [], concurrency: 1,
                          started: .now())
        a.wake = [try listenerA.localAddress()]
        var b = Heartbeat(host: try HostID("hostB"), pid: 11, version: "t", queues: [build, proxy], running: [],
                          concurrency: 1, started: .now())
        b.wake = [try listenerB.localAddress(), try SocketAddress(host: "0.0.0.0", port: 9),
                  try SocketAddress(host: "224.0.0.1", port: 9), try SocketAddress(host: "255.255.255.255", port: 9),
                  try SocketAddress(host: "ff02::1", port: 9)]
        var stale = Heartbeat(host: try HostID("hostC"), pid: 12, version: "t", queues: [build], running: [],
                              concurrency: 1, started: .now(), updated: .now() + -600)
        stale.wake = [try SocketAddress(host: "127.0.0.1", port: 9)]
        var me = Heartbeat(host: temp.spool.host, pid: temp.spool.pid, version: "t", queues: [build], running: [],
                           concurrency: 1, started: .now())
        me.wake = [try SocketAddress(host: "127.0.0.1", port: 8)]
        let quiet = Heartbeat(host: try HostID("hostD"), pid: 13, version: "t", queues: [try QueueName("database")],
                              running: [], concurrency: 1, started: .now())
        for beat in [a, b, stale, me, quiet] { try temp.spool.write(beat) }

        let wakeups = Wakeups(spool: temp.spool)
        wakeups.refresh()
        #expect(Set(wakeups.addresses(of: build)) == Set([try listenerA.localAddress(), try listenerB.localAddress()]))
        #expect(wakeups.addresses(of: proxy) == [try listenerB.localAddress()])
        #expect(wakeups.addresses(of: try QueueName("database")).isEmpty)

        wakeups.ring(build)
        #expect(wakeups.statistics.sent == 2 && wakeups.statistics.failed == 0)
        for listener in [listenerA, listenerB] {
            #expect(try listener.wait(timeout: 10) == .readable)
            let datagram = try #require(try listener.receive(limit: 200))
            #expect(try WakeRing(parsing: datagram.bytes) == WakeRing(spoolID: spoolID, queue: build))
        }
        // Nobody listens on database: nothing is sent.
        wakeups.ring(try QueueName("database"))
        #expect(wakeups.statistics.sent == 2)
    }

    @Test func theCoordinatorsLeasePublishesWhereResultsAndJobRequestsRing() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        let listener = try UDPSocket(binding: SocketAddress(host: "127.0.0.1", port: 0))
        let coordinator = try temp.other(host: "coordhost", pid: 99)
        let lease = try CoordinatorLease.acquire(spool: coordinator, database: "/var/lib/dz/zoomdb.sqlite3",
                                                 wake: [try listener.localAddress()])
        defer { lease.release() }
        #expect(CoordinatorLease.read(lease.path)?.wake == [try listener.localAddress()])

        let agent = Wakeups(spool: temp.spool)
        agent.refresh()
        #expect(agent.addresses(of: .results) == [try listener.localAddress()])
        #expect(agent.addresses(of: try QueueName("jobs")) == [try listener.localAddress()])
        // The coordinator itself does not ring its own inboxes.
        let own = Wakeups(spool: coordinator)
        own.refresh()
        #expect(own.addresses(of: .results).isEmpty)
    }

    // MARK: The spool's hook

    /// Records every ring.
    final class RecordingSink: WakeupSink {
        let rings = Mutex<[QueueName]>([])
        func ring(_ queue: QueueName) { rings.withLock { $0.append(queue) } }
    }

    @Test func theSpoolRingsAfterADropAResultARetryAndAReleaseAndNotForARefusedDrop() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        let sink = RecordingSink()
        var spool = temp.spool
        spool.wakeups = sink

        try spool.drop(noop("t1"), into: build)
        #expect(sink.rings.withLock { $0 } == [build])
        #expect(throws: SpoolError.self) { try spool.drop(noop("t1"), into: build) }
        #expect(sink.rings.withLock { $0 } == [build])

        // A result is delivered into results/new: results rings.
        guard case .claimed(let claim) = try spool.claim("t1.json", in: build, leaseSeconds: 30) else {
            Issue.record("t1 not claimed")
            return
        }
        let result = ResultFile(task: claim.task, queue: build, status: .ok, host: spool.host, pid: spool.pid,
                                started: .now(), finished: .now())
        _ = try spool.finish(claim, result: result)
        #expect(sink.rings.withLock { $0 } == [build, .results])

        // A retry goes back into build/new; a release too.
        try spool.drop(noop("t2"), into: build)
        guard case .claimed(let second) = try spool.claim("t2.json", in: build, leaseSeconds: 30) else {
            Issue.record("t2 not claimed")
            return
        }
        #expect(try spool.retry(second, failure: ResultFile.Failure(kind: "x", message: "again")))
        try spool.drop(noop("t3"), into: build)
        guard case .claimed(let third) = try spool.claim("t3.json", in: build, leaseSeconds: 30) else {
            Issue.record("t3 not claimed")
            return
        }
        try spool.release(third)
        #expect(sink.rings.withLock { $0 } == [build, .results, build, build, build, build])
    }
}
