@testable import DZJobs
import DZSpool
import DZStore
import DZSystem
import Testing

/// The coordinator's publisher makes a running job's document from the parts that changed only; what it writes
/// must be, byte for byte, the document made whole from the zoomdb.
@Suite struct StatePublisherTests {
    /// One publishing round for job `id`; the bytes written, and the document made whole from the zoomdb at the
    /// same `published` time.
    func round(_ publisher: StatePublisher, _ changes: StateChanges, _ scratch: Scratch, _ db: ZoomDB,
               _ id: String) throws -> (written: [UInt8], whole: [UInt8])
    {
        changes.jobChanged(id)
        changes.commit()
        let (waiting, failed) = publisher.round(carrying: .init())
        #expect(!failed && waiting.jobs.isEmpty)
        let written = try #require(scratch.spool.published(directory: JobDocument.directory, name: id + ".json"))
        var whole = try #require(try JobDocument(db: db, id: id))
        whole.published = try JobDocument(json: try JSONValue.parse(written)).published
        return (written, JSONValue.object(whole.jsonObject).serialized() + [0x0A])
    }

    /// A publisher on `scratch`'s spool and zoomdb that rewrites a running job at most every `interval`, and job
    /// J1 recorded as submitted.
    func publishing(_ scratch: Scratch, interval: Double) throws
        -> (publisher: StatePublisher, changes: StateChanges, db: ZoomDB, job: JobRecord)
    {
        let db = try scratch.zoomdb()
        let changes = StateChanges()
        let publisher = StatePublisher(spool: scratch.spool, databasePath: scratch.directory + "/zoomdb.sqlite3",
                                       changes: changes, logger: .init(label: "test"))
        publisher.runningJobInterval = interval
        let job = JobRecord(id: "J1", kind: "selftest", project: "shop", params: [:], issuedBy: "me", issuedAt: .now())
        try db.insert(job)
        return (publisher, changes, db, job)
    }

    @Test func aDocumentMadeFromChangedPartsIsTheWholeDocument() throws {
        let scratch = try Scratch()
        // Every round writes the running job here (see the test below for the interval).
        let (publisher, changes, db, submitted) = try publishing(scratch, interval: 0)
        var job = submitted
        var steps = ["a", "b"].enumerated().map { index, name in
            StepRecord(job: "J1", name: name, definition: name, ordinal: index, queue: "q", task: "t",
                       taskID: "J1." + name, taskFile: #"{"args":{"password":"hidden"}}"#, compensation: false,
                       maxAttempts: 2, deadline: nil)
        }
        for step in steps { try db.insert(step) }
        try db.log("J1", .info, "job submitted")
        var (written, whole) = try round(publisher, changes, scratch, db, "J1")
        #expect(written == whole)

        steps[0].state = .dispatched
        steps[0].attempt = 1
        steps[0].started = .now()
        try db.update(steps[0])
        try db.log("J1", .stepBegin, "a")
        (written, whole) = try round(publisher, changes, scratch, db, "J1")
        #expect(written == whole, "a step that moved and a new log line")

        steps[1].output = ["progress": .int(40), "password": .string("pw-left-in-output")]
        steps[1].error = "first attempt lost"
        try db.update(steps[1])
        (written, whole) = try round(publisher, changes, scratch, db, "J1")
        #expect(written == whole, "a step whose output and error changed while its state stayed")
        #expect(String(decoding: written, as: UTF8.self).contains("first attempt lost"))
        #expect(!String(decoding: written, as: UTF8.self).contains("pw-left-in-output"), "a secret output is masked")

        let fanned = StepRecord(job: "J1", name: "a.1", definition: "a", ordinal: 0, queue: "q", task: "t",
                                taskID: "J1.a.1", taskFile: "{}", compensation: false, maxAttempts: 1, deadline: nil)
        try db.insert(fanned)
        job.state = .succeeded
        job.finished = .now()
        try db.update(job)
        try db.log("J1", .info, "job succeeded")
        (written, whole) = try round(publisher, changes, scratch, db, "J1")
        #expect(written == whole, "a step added between two others, the job ended")
        #expect(!String(decoding: written, as: UTF8.self).contains("hidden"), "no task file is published")
        let read = try JobDocument(json: try JSONValue.parse(written))
        #expect(read.steps.map(\.name) == ["a", "a.1", "b"] && read.log.count == 3 && read.job.state == .succeeded)
    }

    @Test func aRunningJobIsRewrittenAtMostOnceAnIntervalButItsFirstAndLastDocumentsAtOnce() throws {
        let scratch = try Scratch()
        let (publisher, changes, db, submitted) = try publishing(scratch, interval: 3600)
        var job = submitted
        func document() throws -> JobDocument {
            let bytes = try #require(scratch.spool.published(directory: JobDocument.directory, name: "J1.json"))
            return try JobDocument(json: try JSONValue.parse(bytes))
        }
        try db.log("J1", .info, "job submitted")
        changes.jobChanged("J1")
        changes.commit()
        var (waiting, failed) = publisher.round(carrying: .init())
        #expect(!failed && waiting.isEmpty, "a job's first document is written at once")
        #expect(try document().log.count == 1)

        try db.log("J1", .info, "a step began")
        changes.jobChanged("J1")
        changes.commit()
        (waiting, failed) = publisher.round(carrying: .init())
        #expect(!failed && waiting.jobs == ["J1": false], "the change waits for the interval, still marked")
        #expect(try document().log.count == 1)

        job.state = .succeeded
        job.finished = .now()
        try db.update(job)
        try db.log("J1", .info, "job succeeded")
        changes.jobEnded("J1")
        changes.commit()
        (waiting, failed) = publisher.round(carrying: waiting)
        #expect(!failed && waiting.isEmpty, "the document that shows the end is written at once")
        let ended = try document()
        #expect(ended.job.state == .succeeded && ended.log.count == 3)

        // The last round before the coordinator stops writes what waits, whatever the interval.
        var other = JobRecord(id: "J2", kind: "selftest", project: "shop", params: [:], issuedBy: nil, issuedAt: .now())
        other.state = .running
        try db.insert(other)
        changes.jobChanged("J2")
        changes.commit()
        _ = publisher.round(carrying: .init())
        try db.log("J2", .info, "later")
        changes.jobChanged("J2")
        changes.commit()
        (waiting, failed) = publisher.round(carrying: .init(), final: true)
        #expect(!failed && waiting.isEmpty)
        let last = try #require(scratch.spool.published(directory: JobDocument.directory, name: "J2.json"))
        #expect(try JobDocument(json: try JSONValue.parse(last)).log.count == 1)
    }
}
