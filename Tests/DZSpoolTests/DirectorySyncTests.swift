@testable import DZSpool
import DZSystem
import Foundation
import Synchronization
import Testing

/// Group commit of directory fsyncs: callers share an fsync only when it started after their call, and a failed
/// fsync is thrown to every caller it covered. Threads are coordinated by events (the count of callers inside
/// `sync`, a semaphore holding an fsync), never by time.
@Suite struct DirectorySyncTests {
    /// An fsync stand-in that can be held at its first call and made to fail at chosen calls.
    final class FakeFsync: Sendable {
        let calls = Mutex<[String]>([])
        let failAt: Set<Int>
        let holdFirst = DispatchSemaphore(value: 0)
        let firstEntered = DispatchSemaphore(value: 0)
        let holding: Bool

        init(holding: Bool, failAt: Set<Int> = []) {
            self.holding = holding
            self.failAt = failAt
        }

        func perform(_ path: String) throws(Errno) {
            let number = calls.withLock { calls -> Int in
                calls.append(path)
                return calls.count
            }
            if number == 1, holding {
                firstEntered.signal()
                holdFirst.wait()
            }
            if failAt.contains(number) { throw Errno.ioError }
        }
    }

    @Test func aLoneCallerGetsOneFsyncOfItsDirectory() throws {
        let fake = FakeFsync(holding: false)
        let sync = DirectorySync { path throws(Errno) in try fake.perform(path) }
        try sync.sync("/spool/q/new")
        try sync.sync("/spool/q/new")
        #expect(fake.calls.withLock { $0 } == ["/spool/q/new", "/spool/q/new"])
        #expect(sync.statistics == .init(fsyncs: 2, callers: 2))
    }

    @Test func callersArrivingDuringAnFsyncShareTheNextOne() async throws {
        let fake = FakeFsync(holding: true)
        let sync = DirectorySync { path throws(Errno) in try fake.perform(path) }
        let waiters = 6
        let returned = Mutex(0)
        // The first caller's fsync is held: it started before the others called, so it must not cover them.
        let first = Thread { try? sync.sync("/d") }
        first.start()
        fake.firstEntered.wait()
        for _ in 0..<waiters {
            Thread {
                try? sync.sync("/d")
                returned.withLock { $0 += 1 }
            }.start()
        }
        let allInside = await waitUntil { sync.statistics.callers == waiters + 1 }
        try #require(allInside)
        #expect(returned.withLock { $0 } == 0, "a caller returned on an fsync that started before it called")
        fake.holdFirst.signal()
        let allReturned = await waitUntil { returned.withLock { $0 } == waiters }
        try #require(allReturned)
        // One fsync for the first caller, one for all six who came while it ran.
        #expect(sync.statistics.fsyncs == 2)
    }

    @Test func directoriesAreSyncedSeparately() throws {
        let fake = FakeFsync(holding: false)
        let sync = DirectorySync { path throws(Errno) in try fake.perform(path) }
        try sync.sync("/a")
        try sync.sync("/b")
        #expect(fake.calls.withLock { $0 } == ["/a", "/b"])
    }

    @Test func aFailedFsyncIsThrownToEveryCallerItCoveredAndThenForgotten() async throws {
        // The first fsync is held and succeeds; the second (covering the waiters) fails.
        let fake = FakeFsync(holding: true, failAt: [2])
        let sync = DirectorySync { path throws(Errno) in try fake.perform(path) }
        let errors = Mutex<[Errno?]>([])
        let firstError = Mutex<Errno?>(nil)
        let first = Thread {
            do throws(Errno) { try sync.sync("/d") } catch { firstError.withLock { $0 = error } }
        }
        first.start()
        fake.firstEntered.wait()
        let waiters = 4
        for _ in 0..<waiters {
            Thread {
                var caught: Errno?
                do throws(Errno) { try sync.sync("/d") } catch { caught = error }
                errors.withLock { $0.append(caught) }
            }.start()
        }
        let allInside = await waitUntil { sync.statistics.callers == waiters + 1 }
        try #require(allInside)
        fake.holdFirst.signal()
        let allReturned = await waitUntil { errors.withLock { $0.count } == waiters }
        try #require(allReturned)
        #expect(errors.withLock { $0 } == Array(repeating: Errno.ioError, count: waiters))
        #expect(firstError.withLock { $0 } == nil)
        // The next caller gets an fsync of its own, which succeeds.
        try sync.sync("/d")
    }

    @Test func spoolDropThrowsATypedErrorWhenItsDirectoryCannotBeSynced() throws {
        let temp = try TemporarySpool()
        defer { temp.remove() }
        // A directory fsync that fails (as on an I/O error) must reach the dropper, typed, not be swallowed.
        let spool = Spool(root: temp.spool.root, host: temp.spool.host, sync: true,
                          directorySync: DirectorySync { _ throws(Errno) in throw Errno.ioError })
        #expect(throws: SpoolError.system(.ioError, operation: "fsync", path: spool.path(build, .new))) {
            try spool.drop(noop("x"), into: build)
        }
    }

    /// Polls `condition` until it holds or 30 s pass (a safety net against a hang, not a measurement).
    func waitUntil(_ condition: () -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if condition() { return true }
            try? await Task.sleep(nanoseconds: 1_000_000)
        }
        return condition()
    }
}
