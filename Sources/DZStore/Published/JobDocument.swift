import DZSpool
import DZSystem

/// A job as the coordinator publishes it in the spool, `state/jobs/<id>.json`, rewritten (one atomic rename) at
/// every change of the job or of one of its steps: the job's record, its steps (without their task files, which
/// hold the tasks' arguments) and its log. One line of JSON, keys sorted, the same object `dz job show --json`
/// prints; what a command on any host follows a job by.
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

    public var jsonObject: [String: JSONValue] {
        var object = job.jsonObject
        object["steps"] = .array(steps.map { .object($0.jsonObject) })
        object["log"] = .array(log.map { .object($0.jsonObject) })
        object["published"] = .string(published.rfc3339)
        return object
    }

    /// Reads a document back.
    public init(json value: JSONValue) throws(PublishedStateError) {
        guard case .object(let object) = value, let job = JobRecord(json: object) else {
            throw PublishedStateError("a job document", "not an object with an id and a kind")
        }
        self.job = job
        steps = (object["steps"]?.arrayValue ?? []).enumerated().compactMap { index, step in
            step.objectValue.flatMap { StepRecord(json: $0, job: job.id, ordinal: index) }
        }
        log = (object["log"]?.arrayValue ?? []).compactMap { $0.objectValue.flatMap(JobLogLine.init(json:)) }
        published = object["published"]?.stringValue.flatMap { Timestamp(rfc3339: $0) } ?? Timestamp(nanoseconds: 0)
    }
}
