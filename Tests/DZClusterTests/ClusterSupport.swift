import DZSpool
import DZSystem
import DZTestSupport
import Foundation
import Testing

/// Every cluster suite is nested in this one, so that clusters never run beside each other (they are heavy on a
/// 2-core machine, and their timing-free assertions still want the machine to themselves).
@Suite(.serialized) enum ClusterSuites {}

extension Cluster {
    /// Starts `dz agent -Q queues` on `host` (its own data directory under the host's directory) and waits until
    /// it has logged `agent-started` in the spool it sees.
    func startAgent(on host: ClusterHost, queues: String, _ extra: [String] = [],
                    environment: [String: String] = [:]) async throws -> ClusterProcess
    {
        let agent = try startDZ(on: host, ["agent", "-Q", queues, "--data-dir", host.directory + "/data"] + extra,
                                label: "agent", environment: environment)
        let started = await Cluster.poll(timeout: 60) {
            !agent.isRunning || AuditTrail(spools: [host.spool]).events("agent-started")
                .contains { $0["pid"] == String(agent.pid) && $0["host"] == host.name }
        }
        guard started, agent.isRunning else { throw Failure("the agent on \(host.name) did not start: \(agent.errorTail)") }
        return agent
    }

    /// Starts `dz coordinator` on `host` with its zoomdb on the host's own disk and waits until it has started.
    func startCoordinator(on host: ClusterHost, _ extra: [String] = []) async throws -> ClusterProcess {
        let process = try startDZ(on: host, ["coordinator", "--db", host.directory + "/zoomdb.sqlite3"] + extra,
                                  label: "coordinator")
        let started = await Cluster.poll(timeout: 60) {
            !process.isRunning || AuditTrail(spools: [host.spool]).events("coordinator-started")
                .contains { $0["pid"] == String(process.pid) }
        }
        guard started, process.isRunning else {
            throw Failure("the coordinator on \(host.name) did not start: \(process.errorTail)")
        }
        return process
    }
}

/// The names in every day directory of `<spool>/<queue>/<stage>/` (`done/` or `failed/`).
func dayNames(_ spool: String, _ queue: String, _ stage: String) -> [String] {
    let dir = spool + "/" + queue + "/" + stage
    return ((try? FileSystem.names(in: dir)) ?? []).flatMap { day in
        ((try? FileSystem.names(in: dir + "/" + day)) ?? [])
    }
}

/// The names directly in `<spool>/<queue>/<stage>/`.
func names(_ spool: String, _ queue: String, _ stage: String) -> [String] {
    (try? FileSystem.names(in: spool + "/" + queue + "/" + stage)) ?? []
}

/// The build queue, where the backlog and metadata tests drop their tasks.
let buildQueue = try! QueueName("build")
