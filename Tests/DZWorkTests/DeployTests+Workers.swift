import DZAgent
@testable import DZDeploy
import DZSpool
import DZSystem
@testable import DZWork
import Foundation
import Logging
import Testing

extension DeployTests {
    /// `scale_workers` on a real gunicorn: workers added and removed in place (SIGTTIN, SIGTTOU), counted in
    /// `/proc`, the record and its launch command kept in step; and the refusals.
    @Suite struct Workers {
        /// Ports of this suite's instances, apart from the other deploy tests'.
        static let ports = 27000...27999

        /// The live children of `pid`, read from `/proc/<n>/stat` (field 4, after the `(comm)` that may hold
        /// spaces), independently of `AppProcess`.
        static func children(of pid: Int32) -> [Int32] {
            ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init).filter {
                guard let stat = try? String(contentsOfFile: "/proc/\($0)/stat", encoding: .utf8),
                      let close = stat.lastIndex(of: ")") else { return false }
                let fields = stat[stat.index(after: close)...].split(separator: " ")
                return fields.count > 2 && fields[0] != "Z" && Int32(fields[1]) == pid
            }
        }

        static func scaleArguments(_ instances: [String], workers: JSONValue) -> [String: JSONValue] {
            ["project": .string("hello"), "instances": .array(instances.map { .string($0) }), "workers": workers]
        }

        @Test(.timeLimit(.minutes(15)))
        func workersChangeInPlaceAndARelaunchKeepsTheNewCount() async throws {
            let built = try await DeployFixture.built()
            try await DeployFixture.withScratch { scratch in
                let settings = AppServerSettings(workspace: scratch.workspace, ports: Self.ports)
                var args = DeployFixture.deployArguments(built)
                args["workers"] = .int(2)
                let deployed = try await DeployHandler(workspace: scratch.workspace, store: built.store,
                                                       settings: settings)
                    .run(try DeployFixture.context("deploy", args))
                let instance = try #require(deployed["instance"]?.stringValue)
                let pid = Int32(try #require(deployed["pid"]?.intValue))
                let port = Int(try #require(deployed["port"]?.intValue))
                let records = InstanceDirectory(root: settings.instancesRoot)
                #expect(await DeployFixture.eventually { Self.children(of: pid).count == 2 }, "deployed with 2")

                let scale = ScaleWorkersHandler(settings: settings)
                let up = try await scale.run(try DeployFixture.context("scale_workers",
                                                                       Self.scaleArguments([instance], workers: .int(3))))
                #expect(up["workers"] == .int(3))
                #expect(up["instances"] == .array([.object([
                    "instance": .string(instance), "pid": .int(Int64(pid)), "before": .int(2), "after": .int(3),
                ])]))
                #expect(Self.children(of: pid).count == 3, "\(Self.children(of: pid))")
                let three = try #require(try records.record(project: "hello", instance: instance))
                #expect(three.workers == 3 && three.pid == pid && three.state == .running)
                let flag = try #require(three.argv.firstIndex(of: "--workers"))
                #expect(three.argv[flag + 1] == "3", "a relaunch starts 3: \(three.argv)")

                let down = try await scale.run(try DeployFixture.context("scale_workers",
                                                                         Self.scaleArguments([instance], workers: .int(1))))
                let result = try #require(down["instances"]?.arrayValue?.first)
                #expect(result["before"] == .int(3) && result["after"] == .int(1), "\(down)")
                #expect(Self.children(of: pid).count == 1, "\(Self.children(of: pid))")
                let one = try #require(try records.record(project: "hello", instance: instance))
                #expect(one.workers == 1 && one.argv[flag + 1] == "1")
                #expect(DeployFixture.masters(pidFile: one.pidFile) == [pid], "the same master throughout")
                #expect(await DeployFixture.status(port: port, path: "/dz-health") == 404, "still serving")

                // The same count again sends nothing and changes nothing.
                let same = try await scale.run(try DeployFixture.context("scale_workers",
                                                                         Self.scaleArguments([instance], workers: .int(1))))
                #expect(same["instances"]?.arrayValue?.first?["before"] == .int(1))
                #expect(same["instances"]?.arrayValue?.first?["after"] == .int(1))

                // A master the supervisor relaunches starts with the new count, not the deployed one.
                try Signal.kill.send(to: pid)
                #expect(await DeployFixture.eventually { !AppProcess(pid: pid).isLive(as: one.uid) })
                let round = await InstanceSupervisor(settings: settings, logger: Logger(label: "test")).check()
                #expect(round.relaunched == [instance])
                let relaunched = try #require(try records.record(project: "hello", instance: instance))
                #expect(relaunched.pid != pid && relaunched.pid > 0)
                #expect(await DeployFixture.eventually { Self.children(of: relaunched.pid).count == 1 },
                        "\(Self.children(of: relaunched.pid))")
            }
        }

        @Test func unknownAndStoppedInstancesAreNamedAndNothingIsSignalled() async throws {
            try await DeployFixture.withScratch(under: "/tmp") { scratch in
                let settings = AppServerSettings(workspace: scratch.workspace, ports: Self.ports)
                let records = InstanceDirectory(root: settings.instancesRoot)
                // A record whose pid is a live process, but not that instance's master: this test process.
                let instance = "bundle_hello_1.t1.27001"
                let appDirectory = settings.appDirectory("hello")
                let record = InstanceRecord(
                    instance: instance, project: "hello", bundle: "bundle_hello_1", appserver: "t1",
                    address: "127.0.0.1", port: 27001, pid: getpid(), uid: getuid(), gid: getgid(), user: "test",
                    switchesUser: false, workers: 2, wsgi: "hello.wsgi",
                    argv: ["/bin/false", "--workers", "2"], sandbox: [], appDirectory: appDirectory,
                    pidFile: appDirectory + "/run/" + instance + ".pid", started: Timestamp.now().rfc3339, restarts: 0,
                    recentRestarts: [], job: nil, task: nil, state: .running)
                try records.save(record)
                var stopping = record
                stopping.instance = "bundle_hello_1.t1.27002"
                stopping.state = .stopping
                try records.save(stopping)
                let scale = ScaleWorkersHandler(settings: settings)

                func failure(_ instances: [String]) async throws -> TaskFailure {
                    do {
                        let output = try await scale.run(try DeployFixture.context(
                            "scale_workers", Self.scaleArguments(instances, workers: .int(4))))
                        Issue.record("scaled: \(output)")
                        return TaskFailure(kind: "none", message: "", retryable: false)
                    } catch let failure as TaskFailure {
                        return failure
                    }
                }
                let notRunning = try await failure([instance, stopping.instance])
                #expect(notRunning.kind == "not-running" && !notRunning.retryable)
                #expect(notRunning.message.contains("\(instance) (its gunicorn master is gone)"), "\(notRunning)")
                #expect(notRunning.message.contains("\(stopping.instance) (stopping)"), "\(notRunning)")

                let missing = try await failure(["bundle_hello_9.t1.1", instance, "bundle_hello_8.t1.2"])
                #expect(missing.kind == "not-found")
                #expect(missing.message.contains("no instance bundle_hello_9.t1.1, bundle_hello_8.t1.2 of project hello"),
                        "\(missing)")
                #expect(missing.message.contains("not running: \(instance)"), "\(missing)")
                #expect(missing.message.contains("no workers were changed"))
                #expect(try records.record(project: "hello", instance: instance) == record, "the record is untouched")
            }
        }

        @Test func badArgumentsAreRefused() async throws {
            try await DeployFixture.withScratch(under: "/tmp") { scratch in
                let scale = ScaleWorkersHandler(settings: scratch.settings)
                let good = Self.scaleArguments(["bundle_hello_1.t1.1"], workers: .int(2))
                let bad: [(String, JSONValue?)] = [
                    ("workers", .int(0)), ("workers", .int(33)), ("workers", .double(2.5)), ("workers", .string("x")),
                    ("workers", nil), ("instances", .array([])), ("instances", .string("bundle_hello_1.t1.1")),
                    ("instances", .array([.string("../x")])), ("project", .string("../etc")), ("timeout_s", .int(0)),
                ]
                for (key, value) in bad {
                    var args = good
                    args[key] = value
                    do {
                        let output = try await scale.run(try DeployFixture.context("scale_workers", args))
                        Issue.record("\(key)=\(value.map(\.jsonText) ?? "absent") was taken: \(output)")
                    } catch let failure as TaskFailure {
                        #expect(failure.kind == "bad-args", "\(key)=\(value.map(\.jsonText) ?? "absent"): \(failure)")
                    }
                }
            }
        }
    }
}
