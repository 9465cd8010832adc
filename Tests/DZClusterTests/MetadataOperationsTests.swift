import DZSpool
import DZSystem
import DZTestSupport
import Foundation
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension ClusterSuites {
    /// How far one NFS server goes: the system calls one agent makes on the spool per task (each a metadata
    /// operation on an NFS server, or data), measured with strace. The figures are printed for the docs; what is
    /// asserted is only what the protocol fixes (a claim is one rename, a result one more, and so on).
    @Suite(.serialized) struct MetadataOperationsTests {
        /// Runs `dz agent --drain` under `strace -f -y` on a spool with `count` noop tasks waiting, then (with
        /// `intake`) `dz coordinator` under strace until it has taken in their results (results of no job: the
        /// spool work of a result's intake without a step to advance); the calls each made on the spool.
        func traced(tasks count: Int, fsync: Bool, intake: Bool = false) async throws
            -> (agent: SpoolSyscalls, coordinator: SpoolSyscalls?)
        {
            var template = Array("/tmp/dz-meta.XXXXXX".utf8CString)
            guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
                throw Cluster.Failure("mkdtemp failed")
            }
            let directory = String(cString: made)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let root = directory + "/spool"
            let spool = Spool(root: root, host: try HostID("tester"), sync: false)
            try spool.initialize()
            for index in 0..<count {
                try spool.drop(TaskFile(id: TaskID("meta-\(index)"), task: "noop"), into: buildQueue)
            }
            let log = directory + "/strace.log"
            let outcome = try await Subprocess.run(
                ["strace", "-f", "-y", "-qq", "-o", log, "-e", "trace=%file,%desc,fsync,fdatasync",
                 try DZExecutable.path(), "agent", "--drain", "-Q", "build", "--host-id", "meta", "--spool", root,
                 "--concurrency", "1"] + (fsync ? [] : ["--no-fsync"]),
                environment: ["PATH": Cluster.path, "HOME": directory], timeout: 600)
            try #require(outcome.succeeded, "\(outcome.tail())")
            try #require(dayNames(root, "build", "done").count == count, "the agent did not run every task")
            let agent = SpoolSyscalls(log: String(decoding: try FileIO.readAll(log), as: UTF8.self), spool: root)
            guard intake else { return (agent, nil) }
            let coordinatorLog = directory + "/strace-coordinator.log"
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Subprocess.locate("strace", path: Cluster.path) ?? "strace")
            process.arguments = ["-f", "-y", "-qq", "-o", coordinatorLog, "-e", "trace=%file,%desc,fsync,fdatasync",
                                 try DZExecutable.path(), "coordinator", "--spool", root, "--host-id", "meta",
                                 "--db", directory + "/zoomdb.sqlite3", "--rescan", "60s"] + (fsync ? [] : ["--no-fsync"])
            process.environment = ["PATH": Cluster.path, "HOME": directory]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            defer { if process.isRunning { process.terminate() } }
            let taken = await Cluster.poll(timeout: 300, every: 0.1) {
                AuditTrail(spools: [root]).events("coordinator-started").count == 1
                    && names(root, "results", "new").isEmpty && dayNames(root, "results", "done").count == count
            }
            try #require(taken, "the coordinator did not take in the results")
            let lease = try JSONValue.parse(try FileIO.readAll(root + "/coordinator.lease")).objectValue
            let pid = try #require(lease?["pid"]?.intValue)
            kill(Int32(pid), SIGTERM)
            let ended = await Cluster.poll(timeout: 60) { !process.isRunning }
            try #require(ended, "the coordinator did not stop")
            return (agent, SpoolSyscalls(log: String(decoding: try FileIO.readAll(coordinatorLog), as: UTF8.self),
                                         spool: root))
        }

        @Test(.timeLimit(.minutes(10)))
        func metadataOperationsPerTaskOfOneAgent() async throws {
            let count = ClusterScale.isBig ? 2_000 : 300
            for fsync in [true, false] {
                let baseline = try await traced(tasks: 0, fsync: fsync, intake: true)
                let loaded = try await traced(tasks: count, fsync: fsync, intake: true)
                if let coordinator = loaded.coordinator, let idle = baseline.coordinator {
                    let intake = coordinator.subtracting(idle)
                    print("metadata per result taken in by the coordinator (\(fsync ? "fsync" : "no fsync"), \(count)): "
                          + String(format: "%.1f", Double(intake.metadata.values.reduce(0, +)) / Double(count))
                          + " metadata calls, " + String(format: "%.1f", Double(intake.total) / Double(count)) + " in all: "
                          + intake.counts.sorted { $0.key < $1.key }
                              .map { "\($0.key)=\(String(format: "%.2f", Double($0.value) / Double(count)))" }
                              .joined(separator: " "))
                }
                let perTask = loaded.agent.subtracting(baseline.agent)
                let metadata = perTask.metadata
                let metadataTotal = metadata.values.reduce(0, +)
                let rows = perTask.counts.sorted { $0.key < $1.key }
                    .map { "\($0.key)=\(String(format: "%.2f", Double($0.value) / Double(count)))" }
                print("metadata per task (\(fsync ? "fsync" : "no fsync"), \(count) tasks, one agent): "
                      + String(format: "%.1f", Double(metadataTotal) / Double(count)) + " metadata calls, "
                      + String(format: "%.1f", Double(perTask.total) / Double(count)) + " in all: "
                      + rows.joined(separator: " "))
                // What the protocol fixes: at least the claim, the commit, the result's publication and the move
                // to done/ are renames (renameat2 or rename), one each per task.
                let renames = (perTask.counts["rename"] ?? 0) + (perTask.counts["renameat"] ?? 0)
                    + (perTask.counts["renameat2"] ?? 0)
                #expect(renames >= 4 * count, "renames: \(renames) for \(count) tasks")
                if fsync { #expect((perTask.counts["fsync"] ?? 0) >= count, "durable: at least one fsync per task") }
            }
        }
    }
}
