@testable import DZJobs
import DZSpool
import DZStore
import DZSystem
import Foundation
import Logging
import Testing

/// `dz config set` from any host: a `set_config` request through the jobs queue that the coordinator records in
/// the zoomdb, reports as a config job, and takes the values out of before the file is retired.
@Suite struct ConfigRequestTests {
    /// A spool and a zoomdb in a temporary directory, with a coordinator engine on them (no loop: intake by hand).
    final class Scratch {
        let directory: String
        let spool: Spool
        let engine: CoordinatorEngine

        init() throws {
            directory = NSTemporaryDirectory() + "dz-config-request-" + UUID().uuidString
            spool = Spool(root: directory + "/spool", host: try HostID("coordinatorhost"), sync: false)
            try spool.initialize()
            var configuration = CoordinatorConfiguration(databasePath: directory + "/zoomdb.sqlite3")
            configuration.environmentCheck = { values in values["PATH"] != nil ? "environment variable PATH is set by dz" : nil }
            engine = try CoordinatorEngine(spool: spool, configuration: configuration, catalog: .standard,
                                           logger: Logger(label: "test"))
        }

        deinit { try? FileManager.default.removeItem(atPath: directory) }

        /// Drops the request as `dz config set` would and has the coordinator take it in.
        func take(_ change: ConfigChange, project: String = "shop") throws -> String {
            let id = JobRequest.newJobID()
            let request = JobRequest.configure(id: id, project: project, change: change, issuedBy: "alice@laptop")
            try spool.drop(try request.taskFile(host: try HostID("laptop")), into: .jobs)
            engine.handle(id + ".json", in: .jobs)
            return id
        }

        /// Every byte of every file under the spool, as text.
        func spoolText() throws -> String {
            var text = ""
            let files = FileManager.default.enumerator(atPath: spool.root)
            while let relative = files?.nextObject() as? String {
                if let data = FileManager.default.contents(atPath: spool.root + "/" + relative) {
                    text += String(decoding: data, as: UTF8.self)
                }
            }
            return text
        }
    }

    @Test func theValuesAreRecordedAndLeaveTheSpool() throws {
        let scratch = try Scratch()
        let secret = "s3cr3t-" + UUID().uuidString
        let id = try scratch.take(ConfigChange(set: ["API_TOKEN": secret, "GREETING": "hi"], unset: [], restart: false))
        #expect(try scratch.engine.db.environment(of: "shop") == ["API_TOKEN": secret, "GREETING": "hi"])
        let job = try #require(try scratch.engine.db.job(id))
        #expect(job.kind == "config" && job.state == .succeeded, "\(job)")
        #expect(job.params["change"] == .string("set API_TOKEN, GREETING"))
        #expect(job.result?["config_version"] == .int(1) && job.result?["restarted"] == .bool(false))
        #expect(job.issuedBy == "alice@laptop")
        #expect(!(try scratch.spoolText()).contains(secret), "the value stays nowhere in the spool, audit log included")
        let done = try #require(FileSystem.names(in: scratch.spool.path(.jobs, .done)).first)
        let retired = scratch.spool.path(.jobs, .done) + "/" + done + "/" + id + ".json"
        let task = try TaskFile(parsing: [UInt8](try #require(FileManager.default.contents(atPath: retired))), stem: id)
        #expect(task.args["set"] == nil && task.args["set_names"] == .array([.string("API_TOKEN"), .string("GREETING")]))
        #expect(try JobRequest(task) == .configure(id: id, project: "shop", change: ConfigChange(
            set: ["API_TOKEN": secret, "GREETING": "hi"], unset: [], restart: false).scrubbed, issuedBy: "alice@laptop"))
    }

    @Test func aChangeThatChangesNothingEndsAtOnceAndSaysSo() throws {
        let scratch = try Scratch()
        _ = try scratch.take(ConfigChange(set: ["GREETING": "hi"], unset: [], restart: false))
        let again = try scratch.take(ConfigChange(set: ["GREETING": "hi"], unset: ["ABSENT"], restart: true))
        let job = try #require(try scratch.engine.db.job(again))
        #expect(job.state == .succeeded && job.result?["changed"] == .bool(false), "\(job)")
        #expect(try scratch.engine.db.steps(of: again).isEmpty, "no release for nothing")
        #expect(try scratch.engine.db.configVersion(of: "shop") == 1)
    }

    @Test func aChangeToPutLiveStartsAConfigRelease() throws {
        let scratch = try Scratch()
        let id = try scratch.take(ConfigChange(set: ["GREETING": "hi"], unset: [], restart: true))
        let job = try #require(try scratch.engine.db.job(id))
        #expect(job.params["config_version"] == .int(1))
        // No release to redeploy here: the config job's own planning says so, as a deploy would.
        #expect(job.state == .failed || job.state == .running, "\(job)")
        #expect(try scratch.engine.db.logLines(of: id).contains { $0.message.hasPrefix("config version 1: set GREETING") })
    }

    @Test func aRefusedChangeRecordsNothingAndLeavesNoValueInFailed() throws {
        let scratch = try Scratch()
        let secret = "s3cr3t-" + UUID().uuidString
        let id = try scratch.take(ConfigChange(set: ["PATH": secret], unset: [], restart: true))
        let job = try #require(try scratch.engine.db.job(id))
        #expect(job.state == .failed && job.error == "environment variable PATH is set by dz", "\(job)")
        #expect(try scratch.engine.db.environment(of: "shop").isEmpty)
        #expect(!(try scratch.spoolText()).contains(secret))
        let malformed = try scratch.take(ConfigChange(set: ["lower": secret], unset: [], restart: true))
        #expect(try scratch.engine.db.job(malformed)?.error?.contains("[A-Z_][A-Z0-9_]*") == true)
        #expect(!(try scratch.spoolText()).contains(secret))
    }

    @Test func aRequestSeenAgainAfterARestartChangesNothing() throws {
        let scratch = try Scratch()
        let id = JobRequest.newJobID()
        let request = JobRequest.configure(id: id, project: "shop", change: ConfigChange(set: ["A": "1"], unset: [],
                                                                                         restart: false), issuedBy: nil)
        let file = try request.taskFile(host: try HostID("laptop"))
        try scratch.spool.drop(file, into: .jobs)
        scratch.engine.handle(id + ".json", in: .jobs)
        // The same request again (a coordinator killed after recording, before retiring it).
        let copy = TaskFile(id: file.id, task: file.task, args: file.args, job: file.job, maxAttempts: 1)
        try scratch.spool.drop(copy, into: .jobs)
        scratch.engine.handle(id + ".json", in: .jobs)
        #expect(try scratch.engine.db.configVersion(of: "shop") == 1)
        #expect(try scratch.engine.db.jobs().filter { $0.kind == "config" }.count == 1)
    }

    @Test func theChangeIsCheckedForForm() {
        #expect(ConfigChange(set: [:], unset: [], restart: true).problem == "no variable to set or unset")
        #expect(ConfigChange(set: ["A": "x\ny"], unset: [], restart: true).problem?.contains("newline") == true)
        #expect(ConfigChange(set: ["A": "1"], unset: ["A"], restart: true).problem == "A is both set and unset")
        #expect(ConfigChange(set: ["1A": "1"], unset: [], restart: true).problem != nil)
        #expect(ConfigChange(set: ["A": String(repeating: "x", count: 70_000)], unset: [], restart: true).problem
                == "the value of A is over 64 KiB")
        let change = ConfigChange(set: ["B": "2", "A": "1"], unset: ["C"], restart: true)
        #expect(change.problem == nil)
        #expect(change.summary == "set A, B; unset C")
        #expect(change.scrubbed.summary == "set A, B; unset C" && change.scrubbed.set.isEmpty && change.scrubbed.isScrubbed)
    }
}
