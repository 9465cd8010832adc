import ArgumentParser
import DZClient
import DZSpool
import DZStore
import DZSystem

struct HostsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hosts",
        abstract: "Show every agent's last heartbeat: disk, inodes, memory, load, uptime, instances, tasks, queues.",
        discussion: """
            One row per heartbeat file in <spool>/hosts/, freshest first. STATE is stale when the heartbeat is \
            older than --max-age (the agent is down, or its host cannot write the spool). INSTANCES counts the \
            active app instances of the host's appserver queues, as the coordinator publishes them in the spool \
            (- before it has). Exit 0; 1 when \
            there is no heartbeat at all; 69 without a spool.
            """)

    @OptionGroup var options: SpoolOptions

    @Option(name: .customLong("max-age"), parsing: .unconditional, help: ArgumentHelp("How old a heartbeat may be before the host counts as stale.", valueName: "duration"))
    var maxAge: String = "30s"

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    func validate() throws {
        _ = try duration(maxAge, "--max-age", in: 0.001...centurySeconds)
    }

    func run() throws {
        let spool = try options.makeSpool()
        guard FileSystem.exists(spool.root) else {
            complain("no spool at \(spool.root) (run dz init)")
            throw ExitStatus.unavailable
        }
        let counts = PublishedState(spool: spool).summary()?.instanceCounts
        let hosts = HostSummary.summaries(spool.heartbeats(), instances: counts, maxAge: try duration(maxAge, "--max-age", in: 0.001...centurySeconds))
        if json {
            print(JSONValue.array(hosts.map { .object($0.jsonObject) }).jsonText)
        } else if !hosts.isEmpty {
            var rows = [["HOST", "PID", "STATE", "HEARTBEAT", "UPTIME", "LOAD", "MEM FREE", "DISK FREE", "INODES FREE",
                         "INSTANCES", "TASKS", "QUEUES", "VERSION"]]
            for host in hosts {
                let beat = host.heartbeat
                rows.append([
                    beat.host.rawValue, "\(beat.pid)", host.isStale ? "stale" : "up", age(host.age) + " ago",
                    age(host.agentUptime), beat.loadAverage.first.map(format1) ?? "-",
                    bytes(beat.memoryAvailable, of: beat.memoryTotal), bytes(beat.diskAvailable, of: beat.diskTotal),
                    beat.inodesAvailable.map { "\($0)" } ?? "-", host.instances.map { "\($0)" } ?? "-",
                    "\(beat.running.count)/\(beat.concurrency)",
                    beat.queues.map(\.rawValue).filter { !$0.hasPrefix("host_") }.joined(separator: ","), beat.version,
                ])
            }
            printTable(rows)
        }
        if hosts.isEmpty {
            // On standard error, as every exit 1 says why there (standard output keeps the JSON, `[]`).
            complain("no agent heartbeats in \(spool.root)/hosts" + " younger than --max-age (\(maxAge))")
            throw ExitStatus.notFound
        }
    }

    /// `12.3G (40%)`: what is free, and its share of the total.
    private func bytes(_ free: UInt64?, of total: UInt64?) -> String {
        guard let free else { return "-" }
        let text = sizeText(free)
        guard let total, total > 0 else { return text }
        return text + " (\(Int((Double(free) / Double(total) * 100).rounded()))%)"
    }
}
