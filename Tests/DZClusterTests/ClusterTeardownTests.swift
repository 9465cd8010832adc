import DZSpool
import DZSystem
import DZTestSupport
import Foundation
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension ClusterSuites {
    /// The cluster support itself: its hosts are separate on the network, blind to each other's spool writes, and
    /// its teardown leaves nothing on the machine, also when the test process that made it died.
    @Suite(.serialized) struct ClusterTeardownTests {
        @Test(.timeLimit(.minutes(5)))
        func hostsAreSeparateAndTeardownLeavesNothingBehind() async throws {
            let cluster = try await Cluster.start(hosts: ["left", "right"])
            let record = cluster.record
            do {
                let left = try cluster.host("left"), right = try cluster.host("right")
                #expect(left.address != right.address)
                // Each namespace has its own address and nothing else but loopback.
                let addresses = try await cluster.run(on: left, ["ip", "-4", "-o", "addr", "show"])
                #expect(addresses.stdoutText.contains(left.address + "/24"))
                #expect(!addresses.stdoutText.contains(right.address + "/"))
                let routes = try await cluster.run(on: left, ["ip", "-4", "route"])
                #expect(!routes.stdoutText.contains("default"), "no route out of the cluster: \(routes.stdoutText)")
                // One spool, two views: a file written through one is there through the other.
                try FileIO.create(left.spool + "/build/tmp/probe", bytes: Array("x".utf8), sync: false)
                #expect(FileSystem.exists(right.spool + "/build/tmp/probe"))
                #expect(FileSystem.exists(try #require(cluster.spoolDirectory) + "/build/tmp/probe"))
                // A process left running in a host is killed by the teardown.
                let sleeper = try cluster.start(on: right, ["sleep", "600"])
                // `ip netns exec` joins the namespace after it is spawned: until then the pid is not listed there.
                var inside = false
                for _ in 0..<400 where !inside {
                    inside = await cluster.pids(on: right).contains(sleeper.pid)
                    if !inside { try await Task.sleep(for: .milliseconds(25)) }
                }
                #expect(inside, "the process started on \(right.namespace) is not in it")
            } catch {
                await cluster.stop()
                throw error
            }
            await cluster.stop()
            #expect(await record.leftovers() == [])
        }

        @Test(.timeLimit(.minutes(5)))
        func clusterOfADeadTestProcessIsSweptByTheNext() async throws {
            let abandoned = try await Cluster.start(hosts: ["orphan"])
            let orphan = try abandoned.host("orphan")
            _ = try abandoned.start(on: orphan, ["sleep", "600"])
            // As if the process that made it had died: its record now names a pid that is not running.
            let record = abandoned.record
            let path = ClusterRecord.directory + "/" + record.id
            let text = try String(contentsOfFile: path, encoding: .utf8)
                .replacingOccurrences(of: "owner \(record.ownerPID) ", with: "owner 2147483646 ")
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            await Cluster.sweepAbandoned()
            #expect(await record.leftovers() == [])
            await abandoned.stop()
        }
    }
}
