import DZSpool
import DZSystem
import DZTestSupport
import Foundation
import Testing

extension ClusterSuites {
    /// Synced spools: every host its own spool directory, connected only by the shipped sync configuration (rsync
    /// daemons, lsyncd, `dz receive`), each queue consumed on its owner's host alone.
    @Suite(.serialized) struct SyncedSpoolTests {
        @Test(.timeLimit(.minutes(10)))
        func tasksPushedToTheOwnerRunOnceAndTheirResultsComeBack() async throws {
            let count = ClusterScale.isBig ? 2_000 : 300
            try await Cluster.with(hosts: ["producer", "owner"], layout: .synced) { cluster in
                let sync = SyncedSpool(cluster: cluster, owners: ["build": "owner", "results": "producer"])
                try await sync.start()
                let producer = try cluster.host("producer"), owner = try cluster.host("owner")
                let agent = try await cluster.startAgent(on: owner, queues: "build", ["--rescan", "1s", "--no-fsync"])
                // The producer drops into its own spool: build's new/ there is its outbox.
                let spool = Spool(root: producer.spool, host: try HostID("producer"), sync: false)
                let ids = (0..<count).map { "synced-\($0)" }
                for id in ids { try spool.drop(TaskFile(id: TaskID(id), task: "noop"), into: buildQueue) }
                let back = await Cluster.poll(timeout: 300, every: 0.5) {
                    names(producer.spool, "results", "new").count >= count || !agent.isRunning
                }
                try #require(back, "\(names(producer.spool, "results", "new").count) of \(count) results back: \(agent.errorTail)")
                #expect(Set(names(producer.spool, "results", "new")) == Set(ids.map { $0 + ".json" }))
                #expect(names(producer.spool, "build", "new").isEmpty, "the outbox was pushed and emptied")
                #expect(names(owner.spool, "results", "new").isEmpty, "the owner's results outbox too")
                let claims = AuditTrail(spools: [owner.spool]).counts("claimed", queue: "build")
                #expect(claims.count == count && claims.values.allSatisfy { $0 == 1 })
                // Every file pushed again (rsync's at-least-once) is dropped by the owner; none runs twice.
                let again = ids.prefix(20)
                for id in again {
                    let original = try #require(FileSystem.resolveDay(owner.spool, "build", "done", id + ".json"))
                    let copy = producer.spool + "/build/tmp/" + id + ".again"
                    try FileIO.create(copy, bytes: try FileIO.readAll(original), mode: 0o600, sync: false)
                    try FileSystem.rename(copy, producer.spool + "/build/new/" + id + ".json")
                }
                let dropped = await Cluster.poll(timeout: 120) {
                    AuditTrail(spools: [owner.spool]).events("redelivered", queue: "build").count >= again.count
                }
                #expect(dropped, "\(AuditTrail(spools: [owner.spool]).events("redelivered").count) redeliveries seen")
                let after = AuditTrail(spools: [owner.spool]).counts("claimed", queue: "build")
                #expect(after.values.allSatisfy { $0 == 1 }, "run twice: \(after.filter { $0.value > 1 })")
                agent.send(SIGTERM)
                #expect(await agent.waitForExit(timeout: 60))
            }
        }
    }
}

extension FileSystem {
    /// The path of `name` in a day directory of `<spool>/<queue>/<stage>/`.
    static func resolveDay(_ spool: String, _ queue: String, _ stage: String, _ name: String) -> String? {
        let dir = spool + "/" + queue + "/" + stage
        for day in (try? FileSystem.names(in: dir)) ?? [] where FileSystem.exists(dir + "/" + day + "/" + name) {
            return dir + "/" + day + "/" + name
        }
        return nil
    }
}
