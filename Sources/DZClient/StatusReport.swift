import DZSpool
import DZStore
import DZSystem

/// What `dz status` shows, from the spool alone on any host: each queue's files, the jobs as the coordinator last
/// published them (counts and the running ones), which coordinator holds the spool and where its zoomdb is, and
/// each agent's last heartbeat. It never opens the zoomdb.
public struct StatusReport: Sendable {
    public var spoolRoot: String
    public var queues: [QueueStatus]
    public var summary: SummaryDocument?
    public var coordinator: (holder: CoordinatorLease.Holder, age: Double)?
    public var heartbeats: [Heartbeat]
    public var now: Timestamp

    /// Gathers the report; `unavailable` without a spool.
    public init(spool: Spool, now: Timestamp = .now()) throws(ClientError) {
        guard FileSystem.exists(spool.root) else { throw .unavailable("no spool at \(spool.root) (run dz init)") }
        let state = PublishedState(spool: spool)
        spoolRoot = spool.root
        do { queues = try spool.queues().map { spool.status(of: $0, now: now) } } catch { throw .spool(error) }
        summary = state.summary()
        coordinator = state.coordinator(now: now)
        heartbeats = spool.heartbeats()
        self.now = now
    }

    public var jsonObject: [String: JSONValue] {
        [
            "spool": .string(spoolRoot),
            "queues": .array(queues.map { .object($0.jsonObject) }),
            "hosts": .array(heartbeats.map { beat in
                var entry = beat.jsonObject
                entry["heartbeat_age_s"] = .double(now - beat.updated)
                return .object(entry)
            }),
            "jobs": summary.map { summary in
                .object(Dictionary(uniqueKeysWithValues: JobRecord.State.allCases.map {
                    ($0.rawValue, JSONValue.int(Int64(summary.jobCounts[$0] ?? 0)))
                }))
            } ?? .null,
            "jobs_published": summary.map { .string($0.published.rfc3339) } ?? .null,
            "coordinator": coordinator.map { coordinator in
                .object(["host": .string(coordinator.holder.host), "pid": .int(Int64(coordinator.holder.pid)),
                         "db": .string(coordinator.holder.database), "since": .string(coordinator.holder.started),
                         "lease_age_s": .double(coordinator.age)])
            } ?? .null,
        ]
    }

    /// The report as text: the queues' table, the coordinator and jobs, the agents' table.
    public var text: String {
        var out = "spool \(spoolRoot)\n"
        var rows = [["QUEUE", "WAITING", "DEFERRED", "RUNNING", "STALE", "DONE-TODAY", "FAILED", "OLDEST"]]
        for status in queues {
            rows.append([status.queue.rawValue, "\(status.waiting)", "\(status.deferred)", "\(status.running)",
                         "\(status.stale)", (status.doneTodayTallied ? "~" : "") + "\(status.doneToday)", "\(status.failed)",
                         status.oldestWaiting.map(TextFormat.age) ?? "-"])
        }
        out += TextFormat.table(rows)
        for status in queues {
            for file in status.unsettled {
                out += "\(status.queue)/new/\(file.name): waiting, as it does not parse yet (\(file.why)); "
                    + "modified \(TextFormat.age(file.age)) ago: agents leave it until it is --settle old (10s by "
                    + "default; a copy may be under way), then move it to failed/ if it still does not parse\n"
            }
        }
        out += "\n"
        if let coordinator {
            let holder = coordinator.holder
            out += "coordinator: \(holder.host) pid \(holder.pid), zoomdb \(holder.database) on that host, lease renewed "
                + "\(TextFormat.age(coordinator.age)) ago\n"
        } else {
            out += "coordinator: none holds the spool's lease\n"
        }
        if let summary {
            out += "jobs: " + JobRecord.State.allCases.map { "\(summary.jobCounts[$0] ?? 0) \($0.rawValue)" }
                .joined(separator: ", ") + " (published \(TextFormat.age(now - summary.published)) ago)\n"
            for job in summary.running {
                out += "  \(job.id) \(job.kind)" + (job.project.map { " \($0)" } ?? "")
                    + " running for \(TextFormat.age(now - (job.started ?? job.issuedAt)))"
                    + (job.stopping.map { " (\($0.rawValue))" } ?? "") + "\n"
            }
        } else {
            out += "jobs: nothing published in \(spoolRoot)/state yet (no coordinator has run here)\n"
        }
        out += "\n"
        guard !heartbeats.isEmpty else { return out + "no agent heartbeats\n" }
        var hosts = [["HOST", "PID", "HEARTBEAT", "RUNNING", "LOAD", "QUEUES"]]
        for beat in heartbeats {
            hosts.append([beat.host.rawValue, "\(beat.pid)", TextFormat.age(now - beat.updated) + " ago",
                          "\(beat.running.count)/\(beat.concurrency)",
                          beat.loadAverage.first.map(TextFormat.tenths) ?? "-",
                          beat.queues.map(\.rawValue).joined(separator: ",")])
        }
        return out + TextFormat.table(hosts)
    }
}
