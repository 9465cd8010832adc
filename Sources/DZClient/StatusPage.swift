import DZJobs
import DZSpool
import DZStore
import DZSystem

/// The status page's data, `status.json`: what the coordinator published in the spool (jobs, projects, the
/// summary), the queues' directories and the agents' heartbeats, gathered as `dz status` does (never from the
/// zoomdb). The page (`StatusPageHTML`) renders it in a browser and polls it.
///
/// Nothing secret goes in: a job's parameters, results and step outputs as published (secret-looking values
/// already masked, `JobDocument.publishedObject`), and of each app's configuration the names only, never a value.
public struct StatusPage: Sendable {
    /// Jobs listed, newest first.
    public static let recentJobs = 30
    /// Log lines kept per job shown in full.
    public static let logLines = 60

    public let spool: Spool

    public init(spool: Spool) { self.spool = spool }

    /// The page's data now.
    public func document(now: Timestamp = .now()) throws(ClientError) -> JSONValue {
        let report = try StatusReport(spool: spool, now: now)
        let state = PublishedState(spool: spool)
        var object = report.jsonObject
        object["generated"] = .string(now.rfc3339)
        object["generated_unix"] = .double(now.seconds)
        let jobs = state.jobs(limit: StatusPage.recentJobs)
        var runningOn: [String: String] = [:]
        for beat in report.heartbeats {
            for task in beat.running { runningOn[task] = beat.host.rawValue }
        }
        object["recent_jobs"] = .array(jobs.map { .object(StatusPage.job($0, now: now, runningOn: runningOn)) })
        object["apps"] = .array(spool.publishedNames(directory: ProjectDocument.directory).sorted()
            .filter { $0.hasSuffix(".json") }
            .compactMap { name in
                (try? state.project(String(name.dropLast(5)))).flatMap { $0 }.map { .object(StatusPage.app($0)) }
            })
        return .object(object)
    }

    /// A job as the page shows it: its record, its steps (state, queue, host, attempts, times, error), those of
    /// its kind not yet dispatched (`pending`, while it runs) and the last lines of its log. A dispatched step
    /// whose task an agent's heartbeat lists is `running` on that agent's host; one no agent holds yet is `queued`.
    static func job(_ document: JobDocument, now: Timestamp, runningOn: [String: String]) -> [String: JSONValue] {
        var object = JobDocument.publishedObject(document.job)
        var rows: [JSONValue] = []
        for step in document.steps {
            var shown = step.state.rawValue
            var host = step.host
            if !step.state.isFinal {
                if let holder = runningOn[step.taskID] {
                    shown = "running"
                    host = holder
                } else {
                    shown = "queued"
                }
            }
            var entry: [String: JSONValue] = [
                "name": .string(step.name), "state": .string(shown), "queue": .string(step.queue),
                "task": .string(step.task), "host": host.map(JSONValue.string) ?? .null,
                "attempt": step.attempt.map { JSONValue.int(Int64($0)) } ?? .null,
                "max_attempts": .int(Int64(step.maxAttempts)),
                "started": step.started.map { JSONValue.string($0.rfc3339) } ?? .null,
                "finished": step.finished.map { JSONValue.string($0.rfc3339) } ?? .null,
                "compensation": .bool(step.compensation),
                "error": step.error.map { JSONValue.string(String($0.prefix(500))) } ?? .null,
            ]
            if let started = step.started ?? step.dispatched {
                entry["seconds"] = .double(max(0, (step.finished ?? now) - started))
            }
            rows.append(.object(entry))
        }
        var total = document.steps.filter { !$0.compensation }.count
        if !document.job.state.isFinal, let kind = JobCatalog.standard.kind(document.job.kind) {
            let recorded = Set(document.steps.map(\.definition))
            for definition in kind.steps where !definition.compensation && !recorded.contains(definition.name) {
                rows.append(.object(["name": .string(definition.name), "state": .string("pending"),
                                     "compensation": .bool(false)]))
                total += 1
            }
        }
        object["steps"] = .array(rows)
        object["steps_done"] = .int(Int64(document.steps.filter { !$0.compensation && $0.state.isFinal }.count))
        object["steps_total"] = .int(Int64(total))
        object["log"] = .array(document.log.suffix(logLines).map { .object($0.jsonObject) })
        return object
    }

    /// An app (a project) as the page shows it: its host names, instances, current release, where it runs, and
    /// its configuration's names (values are never on the page).
    static func app(_ project: ProjectDocument) -> [String: JSONValue] {
        [
            "project": .string(project.project),
            "hostnames": .array(project.hostnames.map { .string($0) }),
            "instances": project.instances.map { .int(Int64($0)) } ?? .null,
            "current_release": project.currentRelease.map { .int(Int64($0.number)) } ?? .null,
            "config_version": .int(Int64(project.configVersion)),
            "config": .object(Dictionary(uniqueKeysWithValues: project.environment.keys.map { ($0, .string("••••")) })),
            "active": .array(project.active.map { .object($0.jsonObject) }),
        ]
    }
}
