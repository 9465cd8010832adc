import DZSpool
import DZSystem
import Foundation
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension Integration {
    /// A spool, and a zoomdb, on a small tmpfs that fills up: clear errors, nothing lost, and work moving again by
    /// itself once there is space, without a restart. Needs root (mount), as CI runs.
    @Suite(.serialized) struct FullDiskTests {
        /// A tmpfs of `megabytes` mounted in the test's scratch directory; `fill()` takes every free byte.
        final class SmallDisk {
            let path: String
            var filler: String { path + "/filler" }

            init(_ spool: TestSpool, megabytes: Int) async throws {
                path = spool.directory + "/small"
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
                let mounted = try await spool.tool("/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", path])
                try #require(mounted.status == 0, "cannot mount a tmpfs (this test needs root): \(mounted)")
            }

            /// Writes zeros until the file system says ENOSPC.
            func fill() {
                let fd = open(filler, O_WRONLY | O_CREAT | O_APPEND, 0o600)
                defer { close(fd) }
                let chunk = [UInt8](repeating: 0, count: 64 * 1024)
                while chunk.withUnsafeBytes({ write(fd, $0.baseAddress!, $0.count) }) > 0 {}
                var byte: UInt8 = 0
                while write(fd, &byte, 1) > 0 {}
            }

            func free() { unlink(filler) }

            func unmount() { _ = umount2(path, Int32(MNT_DETACH)) }
        }

        @Test(.timeLimit(.minutes(5)))
        func agentOnAFullDiskGivesTasksBackAndResumesWhenSpaceReturns() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let disk = try await SmallDisk(spool, megabytes: 4)
            defer { disk.unmount() }
            let root = disk.path + "/spool"
            let dropper = Spool(root: root, host: try HostID("dropper"), sync: false)
            try dropper.initialize()
            let build = try QueueName("build")
            var ids: [String] = []
            for _ in 0..<20 {
                let id = TaskID.generate(host: dropper.host)
                try dropper.drop(TaskFile(id: id, task: "noop"), into: build)
                ids.append(id.rawValue)
            }
            // A file that is bad input, to be rejected while no reason can be written.
            try FileIO.create(root + "/build/new/garbage.json", bytes: Array("{not json".utf8), sync: false)
            try FileSystem.touch(root + "/build/new/garbage.json", modified: .now() + -3600)
            disk.fill()

            let agent = try spool.start(["agent", "-Q", "build", "--host-id", "full", "--rescan", "200ms",
                                         "--lease", "5s"], via: root, label: "agent-full")
            // It tries, cannot write an outcome, gives the task back and stops claiming.
            let paused = await waitUntil(timeout: 60) { agent.standardError.contains("not claiming") }
            try #require(paused, "the agent never said it stopped claiming:\n\(agent.errorTail)")
            try await Task.sleep(nanoseconds: 1_000_000_000)
            #expect(agent.isRunning, "\(agent.errorTail)")
            let claims = ((try? FileSystem.names(in: root + "/build/cur")) ?? []).filter { $0.contains("@") }
            #expect(claims.isEmpty, "claims left in cur/ on a full disk: \(claims)")
            let waiting = ((try? FileSystem.names(in: root + "/build/new")) ?? []).filter { $0 != "garbage.json" }
            #expect(Set(waiting) == Set(ids.map { $0 + ".json" }), "tasks not back in new/: \(waiting.count) of \(ids.count)")
            #expect(((try? FileSystem.names(in: root + "/results/new")) ?? []).isEmpty)

            disk.free()
            let freed = Timestamp.now()
            var firstResult: Double?
            let drained = await waitUntil(timeout: 60, every: 0.01) {
                let results = (try? FileSystem.names(in: root + "/results/new")) ?? []
                if firstResult == nil, !results.isEmpty { firstResult = Timestamp.now() - freed }
                return results.count == ids.count
            }
            try #require(drained, "the agent did not resume within 60 s of space returning:\n\(agent.errorTail)")
            let all = Timestamp.now() - freed
            print(String(format: "FullDiskTests: agent: first result %.2f s, all %d results %.2f s after space returned",
                         firstResult ?? all, ids.count, all))
            // Nothing lost, nothing twice: every task done once, and the audit lines of the full time written.
            let done = ((try? FileSystem.names(in: root + "/build/done")) ?? []).flatMap { day in
                (try? FileSystem.names(in: root + "/build/done/" + day)) ?? []
            }
            #expect(Set(done) == Set(ids.map { $0 + ".json" }))
            agent.send(SIGTERM)
            #expect(await agent.waitForExit(timeout: 30) && agent.exitStatus == 0, "\(agent.errorTail)")
            let log = ((try? FileSystem.names(in: root + "/log/full")) ?? []).compactMap { name in
                try? String(contentsOfFile: root + "/log/full/" + name, encoding: .utf8)
            }.joined()
            #expect(log.contains("event=released"), "the give-backs of the full time were not logged")
            // The bad file was set aside during the full time; its reason and audit line were written since.
            let failedDays = (try? FileSystem.names(in: root + "/build/failed")) ?? []
            let reasons = failedDays.compactMap { day in
                try? String(contentsOfFile: root + "/build/failed/" + day + "/garbage.json.reason", encoding: .utf8)
            }
            #expect(reasons.first?.contains("kind=json") == true, "no reason for the bad file: \(failedDays)")
            #expect(log.contains("event=rejected") && log.contains("file=garbage.json"))
            // No write left a partial file behind.
            let leftovers = (try? FileSystem.names(in: root + "/build/tmp")) ?? []
            #expect(leftovers.isEmpty, "tmp/ after the full time: \(leftovers)")
        }

        @Test(.timeLimit(.minutes(5)))
        func coordinatorWithAFullZoomdbDiskTakesTheJobInWhenSpaceReturns() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let disk = try await SmallDisk(spool, megabytes: 8)
            defer { disk.unmount() }
            let db = disk.path + "/zoomdb.sqlite3"
            for queue in ["appserver_app1"] {
                try Spool(root: spool.root, host: HostID("tester"), sync: false).create(QueueName(queue))
            }
            let coordinator = try spool.start(["coordinator", "--rescan", "200ms", "--no-fsync", "--db", db],
                                              label: "coordinator")
            let started = await waitUntil(timeout: 60) {
                spool.records(event: "coordinator-started").contains { $0["pid"] == String(coordinator.pid) }
            }
            try #require(started, "\(coordinator.errorTail)")
            _ = try await spool.startAgent(host: "worker", queues: "build,database,proxy,appserver_app1",
                                           ["--rescan", "200ms", "--no-fsync"])
            disk.fill()

            let submitted = try await spool.dz(["job", "submit", "selftest", "--project", "full"])
            try #require(submitted.status == 0, "\(submitted)")
            let id = submitted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let failing = await waitUntil(timeout: 60) { coordinator.standardError.contains("intake failed") }
            try #require(failing, "the coordinator never failed to take the job in:\n\(coordinator.errorTail)")
            try await Task.sleep(nanoseconds: 1_000_000_000)
            #expect(coordinator.isRunning, "\(coordinator.errorTail)")
            // The request waits in new/, not in the coordinator's hands.
            #expect(spool.names("jobs", "new") == [id + ".json"], "jobs/new: \(spool.names("jobs", "new"))")
            #expect(!spool.names("jobs", "cur").contains { $0.contains("@") })

            disk.free()
            let freed = Timestamp.now()
            let ran = await waitUntil(timeout: 120, every: 0.02) {
                spool.records(event: "job-succeeded").contains { $0["job"] == id }
            }
            try #require(ran, "the job did not run after space returned:\n\(coordinator.errorTail)")
            let took = spool.records(event: "dropped").first { ($0["task"] ?? "").hasPrefix(id + ".") }
            let firstStep = took.flatMap { $0["ts"] }.flatMap { Timestamp(rfc3339: $0) }.map { $0 - freed }
            print(String(format: "FullDiskTests: coordinator: first step dropped %.2f s, job succeeded %.2f s after space returned",
                         firstStep ?? -1, Timestamp.now() - freed))
            #expect(coordinator.isRunning)
        }
    }
}
