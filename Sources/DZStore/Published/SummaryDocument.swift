import DZJSON
import DZSystem

/// What the coordinator publishes about all jobs and instances, `state/summary.json`, rewritten when a job
/// starts or ends or an instance is recorded (at most about once a second, and at every rescan): `dz status`'s
/// job counts and running jobs, `dz hosts`' instance counts, and the projects `dz recover` moves off an
/// appserver, on any host.
public struct SummaryDocument: Sendable, Equatable {
    public static let fileName = "summary.json"
    /// How many running jobs it lists.
    public static let runningLimit = 20

    public var jobCounts: [JobRecord.State: Int]
    /// The running jobs, newest first (at most `runningLimit`).
    public var running: [JobRecord]
    /// Active instances: appserver, then project, to how many.
    public var instances: [String: [String: Int]]
    public var published: Timestamp

    public init(jobCounts: [JobRecord.State: Int], running: [JobRecord], instances: [String: [String: Int]],
                published: Timestamp = .now())
    {
        self.jobCounts = jobCounts
        self.running = running
        self.instances = instances
        self.published = published
    }

    /// The summary of the zoomdb now.
    public init(db: ZoomDB) throws {
        self.init(jobCounts: try db.jobCounts(), running: try db.jobs(state: .running, limit: Self.runningLimit),
                  instances: try db.activeInstancesByAppserver())
    }

    /// How many active instances each appserver runs.
    public var instanceCounts: [String: Int] { instances.mapValues { $0.values.reduce(0, +) } }

    /// The projects with active instances on `appserver`, by name.
    public func projects(on appserver: String) -> [String] { (instances[appserver] ?? [:]).keys.sorted() }

    public var jsonObject: [String: JSONValue] {
        [
            "jobs": .object(Dictionary(uniqueKeysWithValues: JobRecord.State.allCases.map {
                ($0.rawValue, JSONValue.int(Int64(jobCounts[$0] ?? 0)))
            })),
            "running": .array(running.map { job in
                .object(["id": .string(job.id), "kind": .string(job.kind), "project": job.project.map(JSONValue.string) ?? .null,
                         "issued_at": .string(job.issuedAt.rfc3339), "started": job.started.map { .string($0.rfc3339) } ?? .null,
                         "stopping": job.stopping.map { .string($0.rawValue) } ?? .null])
            }),
            "instances": .object(instances.mapValues { .object($0.mapValues { .int(Int64($0)) }) }),
            "published": .string(published.rfc3339),
        ]
    }

    /// Reads a summary back.
    public init(json value: JSONValue) throws(PublishedStateError) {
        guard case .object(let object) = value, let counts = object["jobs"]?.objectValue else {
            throw PublishedStateError("the summary", "not an object with job counts")
        }
        var jobCounts: [JobRecord.State: Int] = [:]
        for (name, count) in counts {
            if let state = JobRecord.State(rawValue: name), let n = count.intValue { jobCounts[state] = Int(n) }
        }
        self.jobCounts = jobCounts
        running = (object["running"]?.arrayValue ?? []).compactMap { $0.objectValue.flatMap(JobRecord.init(json:)) }
            .map { job in
                var job = job
                job.state = .running
                return job
            }
        instances = (object["instances"]?.objectValue ?? [:]).mapValues { projects in
            (projects.objectValue ?? [:]).compactMapValues { $0.intValue.map(Int.init) }
        }
        published = object["published"]?.stringValue.flatMap { Timestamp(rfc3339: $0) } ?? Timestamp(nanoseconds: 0)
    }
}
