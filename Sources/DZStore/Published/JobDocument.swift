import DZJSON
import DZSpool
import DZSystem

/// A job as the coordinator publishes it in the spool, `state/jobs/<id>.json`, rewritten (one atomic rename) at
/// every change of the job or of one of its steps: `{"job": {...}, "log": [...], "published": "...", "steps":
/// [...]}`, one line of JSON with sorted keys: the job's record, its log, when it was written, and its steps
/// (without their task files, which hold the tasks' arguments). The string values of secret-looking keys in the
/// job's parameters and result and in the steps' outputs are published as `***` (see `publishedObject`). What a
/// command on any host follows a job by.
public struct JobDocument: Sendable, Equatable {
    /// The directory of job documents under the published state.
    public static let directory = "jobs"

    public var job: JobRecord
    public var steps: [StepRecord]
    public var log: [JobLogLine]
    /// When the coordinator wrote it.
    public var published: Timestamp

    public init(job: JobRecord, steps: [StepRecord], log: [JobLogLine], published: Timestamp = .now()) {
        self.job = job
        self.steps = steps
        self.log = log
        self.published = published
    }

    /// The job as the zoomdb holds it now; nil when there is no such job.
    public init?(db: ZoomDB, id: String) throws {
        guard let job = try db.job(id) else { return nil }
        self.init(job: job, steps: try db.steps(of: id), log: try db.logLines(of: id))
    }

    /// The file name of `id`'s document in `directory`.
    public static func fileName(_ id: String) -> String { id + ".json" }

    /// The published form.
    public var jsonObject: [String: JSONValue] {
        [
            "job": .object(Self.publishedObject(job)), "log": .array(log.map { .object($0.jsonObject) }),
            "published": .string(published.rfc3339), "steps": .array(steps.map { .object(Self.publishedObject($0)) }),
        ]
    }

    /// A job's record as published: the string values of secret-looking keys in its parameters and result masked
    /// (`Redaction.maskedOutput`), whatever a job kind put there. The zoomdb is the coordinator's own file; the
    /// spool is read on every host.
    public static func publishedObject(_ job: JobRecord) -> [String: JSONValue] {
        var job = job
        job.params = Redaction.maskedOutput(job.params)
        job.result = job.result.map(Redaction.maskedOutput)
        return job.jsonObject
    }

    /// A step as published: without its task file, the string values of secret-looking keys in its output masked.
    /// The coordinator masks an output once it has recorded its secrets, but not one it kept as the step left it
    /// (a step that failed, or whose output could not be recorded): a database password stays off the spool then too.
    public static func publishedObject(_ step: StepRecord) -> [String: JSONValue] {
        var step = step
        step.output = step.output.map(Redaction.maskedOutput)
        return step.jsonObject
    }

    /// The form `dz job show --json` prints: the job's fields, its steps and its log side by side.
    public var flatJSONObject: [String: JSONValue] {
        var object = Self.publishedObject(job)
        object["steps"] = .array(steps.map { .object(Self.publishedObject($0)) })
        object["log"] = .array(log.map { .object($0.jsonObject) })
        return object
    }

    /// The published bytes from parts already serialized (the job, each log line, each step), in the order and
    /// form `jsonObject` serializes to: the publisher keeps the parts of a job that did not change.
    public static func assemble(job: [UInt8], log: [[UInt8]], published: Timestamp, steps: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(job.count + log.reduce(0) { $0 + $1.count + 1 } + steps.reduce(0) { $0 + $1.count + 1 } + 80)
        out += Array(#"{"job":"#.utf8) + job + Array(#","log":["#.utf8)
        for (index, line) in log.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out += line
        }
        out += Array(#"],"published":"#.utf8) + JSONValue.string(published.rfc3339).serialized()
            + Array(#","steps":["#.utf8)
        for (index, step) in steps.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out += step
        }
        out += Array("]}".utf8)
        return out
    }

    /// Reads a document back (the published form, or the flat one).
    public init(json value: JSONValue) throws(PublishedStateError) {
        guard case .object(let outer) = value else {
            throw PublishedStateError("a job document", "not an object")
        }
        let object = outer["job"]?.objectValue ?? outer
        guard let job = JobRecord(json: object) else {
            throw PublishedStateError("a job document", "no job with an id and a kind")
        }
        self.job = job
        steps = (outer["steps"]?.arrayValue ?? []).enumerated().compactMap { index, step in
            step.objectValue.flatMap { StepRecord(json: $0, job: job.id, ordinal: index) }
        }
        log = (outer["log"]?.arrayValue ?? []).compactMap { $0.objectValue.flatMap(JobLogLine.init(json:)) }
        published = outer["published"]?.stringValue.flatMap { Timestamp(rfc3339: $0) } ?? Timestamp(nanoseconds: 0)
    }
}
