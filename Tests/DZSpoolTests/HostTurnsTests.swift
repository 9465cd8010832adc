import DZSpool
import DZSystem
import Foundation
import Synchronization
import Testing

/// The agents of one host taking turns listening to a queue: where the locks are, who may hold one, and the
/// watcher that holds the turn only while its agent has a free worker.
@Suite struct HostTurnsTests {
    static let spoolID = "0123456789abcdef0123456789abcdef"

    private func temporaryDirectory() -> String {
        var template = Array("/tmp/dz-turns-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }

    @Test func theDefaultDirectoryIsSystemdsThenXDGsThenRunOrTmpByUser() {
        #expect(HostTurns.defaultDirectory(environment: ["RUNTIME_DIRECTORY": "/run/dz-agent:/run/other"], uid: 0)
            == "/run/dz-agent")
        #expect(HostTurns.defaultDirectory(environment: ["XDG_RUNTIME_DIR": "/run/user/1000"], uid: 1000)
            == "/run/user/1000/dz")
        #expect(HostTurns.defaultDirectory(environment: ["XDG_RUNTIME_DIR": "relative"], uid: 0) == "/run/dz")
        #expect(HostTurns.defaultDirectory(environment: [:], uid: 1000) == "/tmp/dz-1000")
    }

    @Test func aLockFileIsNamedBySpoolHostAndQueue() throws {
        let dir = temporaryDirectory() + "/turns"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let turns = try HostTurns(directory: dir, spoolID: Self.spoolID, host: try HostID("web-1.example"))
        #expect(turns.lockPath(try QueueName("build")) == dir + "/\(Self.spoolID).web-1.example.build.turn")
        // Made private to this user.
        #expect(try FileSystem.linkStatus(dir).permissions & 0o077 == 0)
    }

    @Test func aSpoolIDThatCannotNameAFileIsRefused() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for bad in ["", "../x", "a/b", String(repeating: "a", count: 65)] {
            #expect(throws: SpoolError.self) { try HostTurns(directory: dir, spoolID: bad, host: try HostID("h")) }
        }
    }

    @Test func aDirectoryOthersCanWriteIsRefused() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        chmod(dir, 0o777)
        #expect(throws: SpoolError.self) { try HostTurns(directory: dir, spoolID: Self.spoolID, host: try HostID("h")) }
    }

    /// Collects a watcher's events, for waiting on them.
    final class Collected: Sendable {
        let events = Mutex<[TurnWatcher.Event]>([])
        init(_ watcher: TurnWatcher) {
            Task { for await event in watcher.events { self.events.withLock { $0.append(event) } } }
        }
        var all: [TurnWatcher.Event] { events.withLock { $0 } }
        var turns: Int { all.filter { if case .turnTaken = $0 { true } else { false } }.count }
        var given: Int { all.filter { if case .turnGiven = $0 { true } else { false } }.count }
        var names: [String] {
            all.flatMap { event -> [String] in if case .appeared(_, let names) = event { names } else { [] } }
        }
    }

    private func eventually(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<1500 {
            if condition() { return true }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        return condition()
    }

    @Test func oneOfTwoWatchersOfAHostHoldsTheTurnAndHandsItOverWhenBusy() async throws {
        let temporary = try TemporarySpool()
        defer { temporary.remove() }
        let spool = temporary.spool
        let queue = try QueueName("build")
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let turns = try HostTurns(directory: dir, spoolID: Self.spoolID, host: spool.host)

        // Two agents of one host: the first is idle, the second too until the first becomes busy.
        let firstBusy = Atomic<Bool>(false)
        let first = TurnWatcher(spool: spool, queues: [queue], turns: turns) { !firstBusy.load(ordering: .relaxed) }
        defer { first.stop() }
        let firstEvents = Collected(first)
        #expect(await eventually { firstEvents.turns == 1 })
        let second = TurnWatcher(spool: spool, queues: [queue], turns: turns) { true }
        defer { second.stop() }
        let secondEvents = Collected(second)

        // A drop reaches the holder only (flock: each open of the file is its own lock owner, even in one process).
        try spool.drop(TaskFile(id: TaskID("t1"), task: "noop"), into: queue)
        #expect(await eventually { firstEvents.names.contains("t1.json") })
        #expect(secondEvents.turns == 0 && secondEvents.names.isEmpty)

        // Busy for longer than its patience: the turn goes to the other, which lists what waits and hears drops;
        // the first is told it gave it up (its agent forgets the names it has not tried).
        firstBusy.store(true, ordering: .relaxed)
        #expect(await eventually { secondEvents.turns == 1 })
        #expect(await eventually { firstEvents.given == 1 })
        #expect(secondEvents.given == 0)
        try spool.drop(TaskFile(id: TaskID("t2"), task: "noop"), into: queue)
        #expect(await eventually { secondEvents.names.contains("t2.json") })
        #expect(!firstEvents.names.contains("t2.json"))
    }

    @Test func withoutTurnsEveryWatcherHearsEveryDropInBatches() async throws {
        let temporary = try TemporarySpool()
        defer { temporary.remove() }
        let spool = temporary.spool
        let queue = try QueueName("build")
        let watchers = (0..<2).map { _ in TurnWatcher(spool: spool, queues: [queue], turns: nil) { true } }
        defer { watchers.forEach { $0.stop() } }
        let collected = watchers.map(Collected.init)
        // The watches are in place once each thread runs: drop until both heard the first.
        var dropped: [String] = []
        #expect(await eventually {
            let id = "w\(dropped.count)"
            try? spool.drop(TaskFile(id: TaskID(id), task: "noop"), into: queue)
            dropped.append(id + ".json")
            return collected.allSatisfy { !$0.names.isEmpty }
        })
        for index in 0..<50 { try spool.drop(TaskFile(id: TaskID("b\(index)"), task: "noop"), into: queue) }
        for events in collected {
            #expect(await eventually { Set(events.names).isSuperset(of: (0..<50).map { "b\($0).json" }) })
            #expect(events.turns == 0)
        }
    }
}
