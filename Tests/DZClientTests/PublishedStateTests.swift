import DZClient
import DZSpool
import DZStore
import DZSystem
import Foundation
import Testing

/// What the coordinator publishes reads back as it was written, on any host, without the zoomdb.
@Suite struct PublishedStateTests {
    @Test func aJobDocumentReadsBackWithItsStepsAndLog() throws {
        let scratch = try Scratch()
        let db = try scratch.zoomdb()
        try db.insert(JobRecord(id: "J1", kind: "selftest", project: "shop", params: ["x": .int(1)], issuedBy: "me",
                                issuedAt: .now()))
        var step = StepRecord(job: "J1", name: "deploy.0", definition: "deploy", ordinal: 3, queue: "appserver_a",
                              task: "deploy", taskID: "J1.deploy.0", taskFile: #"{"args":{"password":"hidden"}}"#,
                              compensation: false, maxAttempts: 3, deadline: .now() + 60)
        try db.insert(step)
        step.state = .failed
        step.errorKind = "health"
        step.error = "no answer"
        step.attempt = 2
        step.host = "app1"
        try db.update(step)
        try db.log("J1", .stepEnd, "deploy.0 failed")
        let written = try #require(try JobDocument(db: db, id: "J1"))
        try scratch.publish(written)

        let read = try #require(try PublishedState(spool: scratch.spool).job("J1"))
        #expect(read.job == written.job)
        #expect(read.log.map(\.message) == ["deploy.0 failed"])
        let published = try #require(read.steps.first)
        #expect(published.name == "deploy.0" && published.definition == "deploy" && published.state == .failed)
        #expect(published.errorKind == "health" && published.attempt == 2 && published.host == "app1")
        #expect(published.taskFile == "{}", "a step's task file (its arguments) is never published")
        let bytes = try #require(scratch.spool.published(directory: "jobs", name: "J1.json"))
        #expect(!String(decoding: bytes, as: UTF8.self).contains("hidden"))
        #expect(try PublishedState(spool: scratch.spool).job("J2") == nil)
    }

    @Test func jobsAreListedNewestFirstAndByState() throws {
        let scratch = try Scratch()
        for (index, (id, state)) in [("J20260101T000001.000000Z-aa", JobRecord.State.succeeded),
                                     ("J20260101T000002.000000Z-bb", .failed),
                                     ("J20260101T000003.000000Z-cc", .running)].enumerated() {
            var document = scratch.job(id, state: state)
            document.job.issuedAt = Timestamp(nanoseconds: 1_000_000_000_000 + Int64(index) * 1_000_000_000)
            try scratch.publish(document)
        }
        let state = PublishedState(spool: scratch.spool)
        #expect(state.jobs(limit: 10).map(\.job.id).map { $0.suffix(2) } == ["cc", "bb", "aa"])
        #expect(state.jobs(limit: 2).count == 2)
        #expect(state.jobs(state: .failed, limit: 10).map(\.job.id) == ["J20260101T000002.000000Z-bb"])
    }

    @Test func aProjectDocumentPublishesTheEnvironmentsNamesButNoValue() throws {
        let scratch = try Scratch()
        let db = try scratch.zoomdb()
        _ = try db.changeEnvironment(of: "shop", set: ["API_TOKEN": "t0k3n-value", "GREETING": "hello-value",
                                                       "DATABASE_URL": "postgres://u:pw-in-url@db/shop"], unset: [])
        try db.recordBundle(project: "shop", name: "bundle_shop_1", codeRevision: "abc", sha256: nil, size: 10,
                            storageURL: nil)
        try db.recordDeployment(DeploymentRecord(project: "shop", bundle: "bundle_shop_1", appserver: "app1",
                                                 instance: "bundle_shop_1.app1.10001", host: "10.0.0.1", port: 10001))
        try db.recordRelease(ReleaseRecord(project: "shop", kind: "build_and_deploy", bundle: "bundle_shop_1",
                                           wsgi: "shop.wsgi", hostnames: ["shop.test"], configVersion: 1,
                                           result: "succeeded", job: "J1"))
        try db.replaceGuesses(of: "shop", with: [StoredGuess(field: "wsgi", value: "shop.wsgi", isPrimary: true,
                                                             basis: "shop/wsgi.py")])
        let written = try #require(try ProjectDocument(db: db, project: "shop"))
        try scratch.spool.publish(JSONValue.object(written.jsonObject).serialized(), directory: "projects",
                                  name: "shop.json")
        let read = try #require(try PublishedState(spool: scratch.spool).project("shop"))
        #expect(read.environment == ["API_TOKEN": "***", "DATABASE_URL": "***", "GREETING": "***"])
        #expect(read.configVersion == 1 && read.currentRelease?.number == 1)
        #expect(read.bundles.map(\.name) == ["bundle_shop_1"] && read.active.map(\.appserver) == ["app1"])
        #expect(read.guesses.first?.basis == "shop/wsgi.py")
        #expect(read.releases.first?.created.rfc3339 == written.releases.first?.created.rfc3339, "when it was made")
        let bytes = try #require(scratch.spool.published(directory: "projects", name: "shop.json"))
        for value in ["t0k3n-value", "hello-value", "pw-in-url"] {
            #expect(!String(decoding: bytes, as: UTF8.self).contains(value), "no config value is published")
        }
        #expect(try ProjectDocument(db: db, project: "blog") == nil, "nothing known of blog")
        #expect(throws: ClientError.self) { try PublishedState(spool: scratch.spool).project("../etc") }
    }

    @Test func theSummaryCountsJobsAndInstances() throws {
        let scratch = try Scratch()
        let db = try scratch.zoomdb()
        var done = JobRecord(id: "J1", kind: "selftest", project: nil, params: [:], issuedBy: nil, issuedAt: .now())
        try db.insert(done)
        done.state = .succeeded
        try db.update(done)
        try db.insert(JobRecord(id: "J2", kind: "recover", project: "shop", params: [:], issuedBy: nil, issuedAt: .now()))
        for (project, instance) in [("shop", "a"), ("shop", "b"), ("blog", "c")] {
            try db.recordDeployment(DeploymentRecord(project: project, bundle: "x", appserver: "app1", instance: instance,
                                                     host: nil, port: nil))
        }
        try scratch.spool.publish(JSONValue.object(try SummaryDocument(db: db).jsonObject).serialized(), directory: "",
                                  name: SummaryDocument.fileName)
        let summary = try #require(PublishedState(spool: scratch.spool).summary())
        #expect(summary.jobCounts[.succeeded] == 1 && summary.jobCounts[.running] == 1)
        #expect(summary.running.map(\.id) == ["J2"] && summary.running.first?.project == "shop")
        #expect(summary.instanceCounts == ["app1": 3])
        #expect(summary.projects(on: "app1") == ["blog", "shop"] && summary.projects(on: "app2").isEmpty)
    }
}

extension PublishedStateTests {
    @Test func gcRemovesTheDocumentsOfJobsThatEndedLongAgoOnly() throws {
        let scratch = try Scratch()
        for (id, state) in [("J1", JobRecord.State.succeeded), ("J2", .running), ("J3", .failed)] {
            try scratch.publish(scratch.job(id, state: state))
        }
        let directory = scratch.spool.statePath + "/jobs/"
        for id in ["J1", "J2"] { try FileSystem.touch(directory + id + ".json", modified: .now() + (-40 * 86400)) }
        let state = PublishedState(spool: scratch.spool)
        #expect(state.collectEndedJobs(olderThan: 30 * 86400) == 1)
        #expect(try state.job("J1") == nil, "ended 40 days ago")
        #expect(try state.job("J2") != nil, "still running, however old its document")
        #expect(try state.job("J3") != nil, "ended today")
    }
}

extension PublishedStateTests {
    @Test func aDocumentAssembledFromItsPartsIsTheDocumentSerialized() throws {
        let scratch = try Scratch()
        var document = scratch.job("J1", state: .running, steps: ["checkout", "deploy.0", "deploy.1"])
        document.log = [JobLogLine(json: ["id": .int(1), "ts": .string("2026-01-01T00:00:00Z"), "level": .string("info"),
                                          "message": .string("job \"x\" submitted")])!]
        let assembled = JobDocument.assemble(
            job: JSONValue.object(JobDocument.publishedObject(document.job)).serialized(),
            log: document.log.map { JSONValue.object($0.jsonObject).serialized() }, published: document.published,
            steps: document.steps.map { JSONValue.object(JobDocument.publishedObject($0)).serialized() })
        #expect(assembled == JSONValue.object(document.jsonObject).serialized())
        let empty = JobDocument(job: document.job, steps: [], log: [], published: document.published)
        #expect(JobDocument.assemble(job: JSONValue.object(empty.job.jsonObject).serialized(), log: [],
                                     published: empty.published, steps: [])
                == JSONValue.object(empty.jsonObject).serialized())
        let read = try JobDocument(json: try JSONValue.parse(assembled))
        #expect(read.job.id == "J1" && read.job.state == .running && read.log == document.log)
        #expect(read.steps.map(\.name) == ["checkout", "deploy.0", "deploy.1"])
    }
}

extension PublishedStateTests {
    @Test func secretLookingValuesOfParametersResultsAndOutputsAreNeverPublished() throws {
        let scratch = try Scratch()
        var document = scratch.job("J1", state: .failed)
        document.job.params = ["source": .string("git://x/shop"), "api_token": .string("param-secret")]
        document.job.result = ["database": .object(["name": .string("shop"), "password": .string("result-secret")])]
        document.steps[1].state = .failed
        document.steps[1].output = ["user": .string("shop"), "password": .string("output-secret")]
        let text = String(decoding: JSONValue.object(document.jsonObject).serialized(), as: UTF8.self)
        let flat = JSONValue.object(document.flatJSONObject).jsonText
        for secret in ["param-secret", "result-secret", "output-secret"] {
            #expect(!text.contains(secret) && !flat.contains(secret), "\(secret) published")
        }
        #expect(text.contains("git://x/shop") && text.contains(#""user":"shop""#), "what is not secret stays")
    }

    @Test func aForeignPartialOrStrangeDocumentIsAClearErrorNotACrash() throws {
        let scratch = try Scratch()
        var state = PublishedState(spool: scratch.spool)
        state.tornReadPatience = 0.3
        let other = JSONValue.object(scratch.job("J2", state: .succeeded).jsonObject).serialized()
        try scratch.spool.publish(other, directory: "jobs", name: "J1.json")
        #expect(throws: ClientError.unavailable(#"state/jobs/J1.json is the document of job "J2""#)) {
            try state.job("J1")
        }
        #expect(state.jobs(limit: 10).isEmpty, "a job listed under another job's name is not listed")
        for bytes in [Array(other.prefix(other.count / 2)), Array("[1,2]".utf8), Array(#"{"job":{"id":7}}"#.utf8),
                      [0xFF, 0xFE, 0x00], []] {
            try scratch.spool.publish(bytes, directory: "jobs", name: "J1.json")
            do {
                _ = try state.job("J1")
                Issue.record("\(bytes.count) bytes read as a job")
            } catch {
                guard case .unavailable(let message) = error else { Issue.record("\(error)"); continue }
                #expect(message.hasPrefix("state/jobs/J1.json"), "\(message)")
            }
        }
        try scratch.spool.publish(Array(#"{"project":"blog"}"#.utf8), directory: "projects", name: "shop.json")
        #expect(throws: ClientError.unavailable(#"state/projects/shop.json is the document of project "blog""#)) {
            try state.project("shop")
        }
        try scratch.spool.publish(Array("{".utf8), directory: "", name: SummaryDocument.fileName)
        #expect(state.summary() == nil)
    }

    @Test func aDocumentReadTornIsReadAgainUntilItParses() throws {
        // Another host's view may show a replaced document's new bytes cut at the old size for a while.
        let scratch = try Scratch()
        let state = PublishedState(spool: scratch.spool)
        let whole = JSONValue.object(scratch.job("J1", state: .succeeded).jsonObject).serialized()
        try scratch.spool.publish(Array(whole.prefix(whole.count / 2)), directory: "jobs", name: "J1.json")
        let spool = scratch.spool
        let writer = Thread {
            ThreadPause.sleep(seconds: 0.3)
            try? spool.publish(whole, directory: "jobs", name: "J1.json")
        }
        writer.start()
        #expect(try state.job("J1")?.job.id == "J1")
    }
}
