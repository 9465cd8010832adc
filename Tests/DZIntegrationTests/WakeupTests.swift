import DZSpool
import DZSystem
import Foundation
import Testing

extension Integration {
    /// Wake-ups across "hosts": each process sees the spool through its own bindfs view, so that inotify is blind
    /// to what the others write (as NFS clients are), and every rescan is 10 minutes away. Only the rings can make
    /// the work move within the tests' time.
    @Suite(.serialized) struct WakeupTests {
        /// The heartbeat of the agent with `pid`, once it is written.
        static func heartbeat(_ scratch: TestSpool, pid: Int32) -> Heartbeat? {
            Spool(root: scratch.root, host: try! HostID("tester"), sync: false).heartbeats().first { $0.pid == pid }
        }

        @Test(.timeLimit(.minutes(3)))
        func aDropThroughAnotherViewRingsTheAgentWhichTakesItLongBeforeItsRescan() async throws {
            let scratch = try TestSpool()
            defer { scratch.cleanUp() }
            let viewA = scratch.directory + "/view-a"
            let viewB = scratch.directory + "/view-b"
            let views = try await RescanTests.BindfsViews(scratch.root, at: [viewA, viewB],
                                                          logDirectory: scratch.logDirectory)
            defer {
                scratch.killAll()
                views.unmount()
            }
            let agent = try await scratch.startAgent(host: "hostA", via: viewA,
                                                     ["--rescan", "10m", "--no-fsync", "--wake-listen", "127.0.0.1"])
            let published = await waitUntil(timeout: 30) { !(Self.heartbeat(scratch, pid: agent.pid)?.wake.isEmpty ?? true) }
            #expect(published, "the agent's heartbeat publishes no wake address\n\(agent.errorTail)")
            let address = try #require(Self.heartbeat(scratch, pid: agent.pid)?.wake.first)
            #expect(address.host == "127.0.0.1" && address.port > 0)
            #expect(scratch.records(event: "agent-started").last?["wake"] == address.description)

            // Tasks put into build/new by hand (no ring): the first through view B, then one through the agent's
            // own view A. The agent's inotify hears the second, so once that one is settled the agent has seen
            // every event it was going to get for the first: that the first is still waiting in new/ shows that
            // view A is blind to view B (its rescan is 10 minutes away).
            func dropByHand(_ id: String, via view: String) throws {
                try scratch.write(Array("{\"task\": \"noop\"}".utf8), to: view + "/build/tmp/\(id).json")
                try FileSystem.link(view + "/build/tmp/\(id).json", view + "/build/new/\(id).json")
                try FileSystem.unlink(view + "/build/tmp/\(id).json")
            }
            let quiet = "quiet-\(UInt32.random(in: 0...UInt32.max))"
            try dropByHand(quiet, via: viewB)
            let heard = "heard-\(UInt32.random(in: 0...UInt32.max))"
            try dropByHand(heard, via: viewA)
            let settled = await waitUntil(timeout: 30) { scratch.isSettled(heard) }
            #expect(settled, "the agent did not take a task dropped through its own view\n\(agent.errorTail)")
            #expect(scratch.names("build", "new") == ["\(quiet).json"],
                    "view A is not blind to view B: the test proves nothing about rings")

            // `dz send` through view B rings the agent (the heartbeat names its address): it lists build/new at
            // once and takes both.
            let rung = try await scratch.send("noop", via: viewB)
            let done = await waitUntil(timeout: 30) { scratch.isSettled(rung) && scratch.isSettled(quiet) }
            #expect(done, """
                the ring did not bring the agent to the tasks: new \(scratch.names("build", "new"))
                \(agent.errorTail)
                """)
            #expect(try scratch.result(rung)?.host.rawValue == "hostA")
            #expect(try scratch.result(quiet)?.host.rawValue == "hostA")
            #expect(agent.isRunning, "\(agent.errorTail)")
        }

        @Test(.timeLimit(.minutes(4)))
        func aJobMovesBetweenACoordinatorAndAnAgentOnOtherViewsByRingsAlone() async throws {
            let scratch = try TestSpool()
            defer { scratch.cleanUp() }
            try Spool(root: scratch.root, host: HostID("tester"), sync: false).create(QueueName("appserver_app1"))
            let views = ["coordinator", "agent", "client"].map { scratch.directory + "/view-" + $0 }
            let bindfs = try await RescanTests.BindfsViews(scratch.root, at: views, logDirectory: scratch.logDirectory)
            defer {
                scratch.killAll()
                bindfs.unmount()
            }
            let db = scratch.directory + "/coordinator-db/zoomdb.sqlite3"
            // The agent first, so that the coordinator's first look at the heartbeats finds it.
            let agent = try await scratch.startAgent(
                host: "worker", queues: "build,database,proxy,appserver_app1", via: views[1],
                ["--rescan", "10m", "--no-fsync", "--wake-listen", "127.0.0.1",
                 "--data-dir", scratch.directory + "/var-worker"])
            let coordinator = try scratch.start(["coordinator", "--rescan", "10m", "--no-fsync", "--db", db,
                                                 "--wake-listen", "127.0.0.1"], via: views[0], label: "coordinator")
            let started = await waitUntil(timeout: 60) {
                !coordinator.isRunning || scratch.records(event: "coordinator-started").contains {
                    $0["pid"] == String(coordinator.pid)
                }
            }
            #expect(started && coordinator.isRunning, "\(coordinator.errorTail)")
            let lease = try #require(CoordinatorLease.read(scratch.root + "/coordinator.lease"))
            #expect(lease.wake.count == 1 && lease.wake.first?.host == "127.0.0.1")
            // The agent learns where the coordinator listens at its next look at the spool (every 10 s), and
            // says so.
            let learned = await waitUntil(timeout: 60) { agent.standardError.contains("results=" + lease.wake[0].description) }
            #expect(learned, "the agent never rang the coordinator's address\n\(agent.errorTail)")

            // Submitted through a third view (its ring reaches the coordinator), nine steps, each a hop from the
            // coordinator's view to the agent's and back: 18 hops that only rings can make in time.
            // Followed from that third view too, through what the coordinator publishes in the spool.
            let submitted = try await scratch.dz(["job", "submit", "selftest", "--project", "demo"], via: views[2])
            #expect(submitted.status == 0, "\(submitted)")
            let id = submitted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let waited = try await scratch.dz(["job", "wait", id, "--timeout", "90s"], via: views[2], timeout: 120)
            #expect(waited.status == 0, """
                the job did not finish by rings: \(waited)
                \(coordinator.errorTail)
                \(agent.errorTail)
                """)
            let shown = try await scratch.dz(["job", "show", id, "--json"], via: views[2])
            let job = try JSONValue.parse(Array(shown.stdout.utf8)).objectValue ?? [:]
            #expect(job["state"] == .string("succeeded"), "\(shown)")
            #expect(JobTests.steps(job).count == 9)
            #expect(coordinator.isRunning && agent.isRunning)
        }
    }
}
