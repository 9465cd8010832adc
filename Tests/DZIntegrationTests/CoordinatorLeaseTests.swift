import DZSpool
import DZSystem
import Foundation
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension Integration {
    /// One coordinator per spool, whatever host and zoomdb it runs with: a lease in the spool, not only a lock on
    /// the zoomdb.
    @Suite(.serialized) struct CoordinatorLeaseTests {
        func startCoordinator(_ spool: TestSpool, _ extra: [String], label: String) async throws -> DZProcess {
            let process = try spool.start(["coordinator", "--rescan", "200ms", "--no-fsync"] + extra, label: label)
            _ = await waitUntil(timeout: 60) {
                !process.isRunning
                    || spool.records(event: "coordinator-started").contains { $0["pid"] == String(process.pid) }
            }
            return process
        }

        @Test(.timeLimit(.minutes(3)))
        func secondCoordinatorWithAnotherZoomdbOrHostRefuses() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let first = try await startCoordinator(spool, [], label: "first")
            try #require(first.isRunning, "\(first.errorTail)")
            for (extra, label) in [(["--db", spool.directory + "/other.sqlite3"], "other-db"),
                                   (["--host-id", "elsewhere", "--db", spool.directory + "/third.sqlite3"], "other-host")] {
                let second = try spool.start(["coordinator", "--no-fsync"] + extra, label: label)
                #expect(await second.waitForExit(timeout: 30), "\(label) kept running beside the first")
                #expect(second.exitStatus == 75, "\(second.errorTail)")
                #expect(second.standardError.contains("another coordinator holds this spool's lease"), "\(second.errorTail)")
            }
            #expect(first.isRunning)
        }

        @Test(.timeLimit(.minutes(3)))
        func killedCoordinatorsLeaseIsTakenOverAtOnceOnItsHost() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let first = try await startCoordinator(spool, [], label: "first")
            first.kill()
            let second = try await startCoordinator(spool, [], label: "second")
            #expect(second.isRunning, "\(second.errorTail)")
            #expect(spool.records(event: "coordinator-lease-taken-over").count == 1)
        }

        @Test(.timeLimit(.minutes(3)))
        func coordinatorStoppedPastItsLeaseStopsWhenItFindsTheLeaseTakenOver() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let paused = try await startCoordinator(spool, ["--host-id", "hosta"], label: "paused")
            paused.send(SIGSTOP)
            // Seen from another host, a lease not renewed for longer than 30 s + skew is gone.
            try FileSystem.touch(spool.root + "/coordinator.lease", modified: .now() + -120)
            let taker = try await startCoordinator(spool, ["--host-id", "hostb", "--db", spool.directory + "/b.sqlite3"],
                                                   label: "taker")
            #expect(taker.isRunning, "\(taker.errorTail)")
            paused.send(SIGCONT)
            #expect(await paused.waitForExit(timeout: 30), "the stopped coordinator went on after losing its lease")
            #expect(paused.exitStatus == 75, "\(paused.errorTail)")
            #expect(paused.standardError.contains("taken over"), "\(paused.errorTail)")
            #expect(spool.records(event: "coordinator-lease-lost").count == 1)
            #expect(taker.isRunning)
        }

        @Test(.timeLimit(.minutes(3)))
        func zoomdbOfAnotherSpoolIsRefused() async throws {
            let first = try TestSpool()
            defer { first.cleanUp() }
            let second = try TestSpool()
            defer { second.cleanUp() }
            let db = first.directory + "/shared.sqlite3"
            let owner = try await startCoordinator(first, ["--db", db], label: "owner")
            owner.send(SIGTERM)
            #expect(await owner.waitForExit(timeout: 30) && owner.exitStatus == 0, "\(owner.errorTail)")
            let stranger = try second.start(["coordinator", "--no-fsync", "--db", db], label: "stranger")
            #expect(await stranger.waitForExit(timeout: 30))
            #expect(stranger.exitStatus == 64, "\(stranger.errorTail)")
            #expect(stranger.standardError.contains("belongs to spool"), "\(stranger.errorTail)")
        }
    }
}
