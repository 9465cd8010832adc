import ArgumentParser
import DZSpool
import DZStore
import DZSystem

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show each queue's files and each agent's last heartbeat.")

    @OptionGroup var options: SpoolOptions

    @OptionGroup var database: DatabaseOptions

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        let spool = try options.makeSpool()
        guard FileSystem.exists(spool.root) else {
            complain("no spool at \(spool.root) (run dz init)")
            throw ExitStatus.unavailable
        }
        let now = Timestamp.now()
        let queues = try reportingErrors { () throws(SpoolError) in try spool.queues() }
        let statuses = queues.map { spool.status(of: $0, now: now) }
        let beats = spool.heartbeats()
        let dbPath = database.localPath(spool: spool) ?? "this host"
        let db = try? ZoomDB(readOnlyAt: dbPath)
        let counts = (try? db?.jobCounts()) ?? [:]
        let jobCounts = Dictionary(uniqueKeysWithValues: JobRecord.State.allCases.map { ($0.rawValue, counts[$0] ?? 0) })
        let runningJobs = (try? db?.jobs(state: .running, limit: 20)) ?? []
        if json {
            let object: JSONValue = .object([
                "spool": .string(spool.root),
                "queues": .array(statuses.map { .object($0.jsonObject) }),
                "hosts": .array(beats.map { beat in
                    var entry = beat.jsonObject
                    entry["heartbeat_age_s"] = .double(now - beat.updated)
                    return .object(entry)
                }),
                "jobs": db == nil ? .null : .object(jobCounts.mapValues { .int(Int64($0)) }),
            ])
            print(object.jsonText)
            return
        }
        print("spool \(spool.root)")
        var rows = [["QUEUE", "WAITING", "DEFERRED", "RUNNING", "STALE", "DONE-TODAY", "FAILED", "OLDEST"]]
        for status in statuses {
            rows.append([status.queue.rawValue, "\(status.waiting)", "\(status.deferred)", "\(status.running)",
                         "\(status.stale)", "\(status.doneToday)", "\(status.failed)",
                         status.oldestWaiting.map(age) ?? "-"])
        }
        printTable(rows)
        print("")
        if db == nil {
            print("jobs: no zoomdb at \(dbPath)")
        } else {
            print("jobs: " + JobRecord.State.allCases.map { "\(jobCounts[$0.rawValue] ?? 0) \($0.rawValue)" }
                .joined(separator: ", "))
            for job in runningJobs {
                print("  \(job.id) \(job.kind)" + (job.project.map { " \($0)" } ?? "")
                    + " running for \(age(now - (job.started ?? job.issuedAt)))"
                    + (job.stopping.map { " (\($0.rawValue))" } ?? ""))
            }
        }
        print("")
        if beats.isEmpty {
            print("no agent heartbeats")
            return
        }
        var hosts = [["HOST", "PID", "HEARTBEAT", "RUNNING", "LOAD", "QUEUES"]]
        for beat in beats {
            hosts.append([beat.host.rawValue, "\(beat.pid)", age(now - beat.updated) + " ago",
                          "\(beat.running.count)/\(beat.concurrency)",
                          beat.loadAverage.first.map { String(format1($0)) } ?? "-",
                          beat.queues.map(\.rawValue).joined(separator: ",")])
        }
        printTable(hosts)
    }
}

/// `1.2s`, `3m`, `2h`, `4d`: an age at a glance.
func age(_ seconds: Double) -> String {
    switch seconds {
    case ..<60: "\(format1(max(0, seconds)))s"
    case ..<3600: "\(Int(seconds / 60))m"
    case ..<86400: "\(Int(seconds / 3600))h"
    default: "\(Int(seconds / 86400))d"
    }
}

func format1(_ value: Double) -> String {
    let tenths = Int((value * 10).rounded())
    return "\(tenths / 10).\(abs(tenths % 10))"
}

/// Prints rows as left-aligned columns.
func printTable(_ rows: [[String]]) {
    guard let first = rows.first else { return }
    var widths = Array(repeating: 0, count: first.count)
    for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
    for row in rows {
        let cells = row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
        }
        print(cells.joined(separator: "  "))
    }
}
