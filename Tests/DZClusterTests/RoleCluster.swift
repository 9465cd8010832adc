import DZSpool
import DZSystem
import DZTestSupport
import Foundation
import Synchronization
import Testing

/// A cluster with one host per role, as an operator would lay it out: `build` (build and database queues, with a
/// real PostgreSQL on its address), `app1` and `app2` (appservers; instances listen on their own addresses),
/// `proxy` (a real nginx on its address and the proxy agent) and `coord` (the coordinator, its zoomdb on its own
/// disk, and the `dz` commands a user runs). The bundle store is a directory every host reaches at the same path,
/// as S3 would be. Shared by the shared-spool and the synced-spool tests.
final class RoleCluster: @unchecked Sendable {
    static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples/hello").path
    static let hostname = "hello.test"
    /// The project's id (and so its unix user, dz_hellocluster): not the other deploy tests' "hello", whose users
    /// and databases a suite running beside these must not share.
    static let project = "hellocluster"
    static let hostNames = ["build", "app1", "app2", "proxy", "coord"]

    let cluster: Cluster
    let postgres: PostgresCluster
    let nginx: NginxServer
    let wheels: String
    let repository: String
    var agents: [String: ClusterProcess] = [:]
    var coordinator: ClusterProcess?

    var coord: ClusterHost { get throws { try cluster.host("coord") } }
    /// Settings every `dz` process on the coordinator's host shares: its local zoomdb.
    var coordEnvironment: [String: String] { get throws { ["DZ_DB": try coord.directory + "/zoomdb.sqlite3"] } }

    private init(cluster: Cluster, postgres: PostgresCluster, nginx: NginxServer, wheels: String) {
        self.cluster = cluster
        self.postgres = postgres
        self.nginx = nginx
        self.wheels = wheels
        repository = cluster.root + "/hello"
    }

    /// Makes the cluster, its servers and the example's repository, runs `body`, and tears everything down.
    static func with(layout: Cluster.SpoolLayout, _ body: (RoleCluster) async throws -> Void) async throws {
        let wheels = try await Wheels.directory(for: ["Django>=4.2,<5.0", "gunicorn", "psycopg2-binary"])
        try await Cluster.with(hosts: hostNames, layout: layout) { cluster in
            let build = try cluster.host("build"), proxy = try cluster.host("proxy")
            let postgres = try await PostgresCluster.start(host: build.address, allowedNetwork: cluster.subnet,
                                                           launcher: ["ip", "netns", "exec", build.namespace])
            do {
                let nginx = try await NginxServer.start(address: proxy.address,
                                                        launcher: ["ip", "netns", "exec", proxy.namespace])
                let roles = RoleCluster(cluster: cluster, postgres: postgres, nginx: nginx, wheels: wheels)
                do {
                    try await roles.makeRepository()
                    try await body(roles)
                } catch {
                    await Task { await nginx.stop() }.value
                    throw error
                }
                await Task { await nginx.stop() }.value
            } catch {
                await cluster.stop()
                await Task { await postgres.stop() }.value
                throw error
            }
            await cluster.stop()
            await Task { await postgres.stop() }.value
        }
    }

    /// The agents of every role and the coordinator (`agentFlags` for all agents: rescans, fsync). With
    /// `wakeups`, each listens on its host's address (`--wake-listen`) and scans every 5 s, the default.
    func start(agentFlags: [String] = ["--rescan", "500ms", "--no-fsync"], wakeups: Bool = false) async throws {
        let store = ["--bundle-store", "file://" + cluster.root + "/store"]
        let build = try cluster.host("build"), proxy = try cluster.host("proxy")
        let agentFlags = wakeups ? ["--rescan", "5s", "--no-fsync"] : agentFlags
        func listen(_ host: ClusterHost) -> [String] { wakeups ? ["--wake-listen", host.address] : [] }
        agents["build"] = try await cluster.startAgent(
            on: build, queues: "build,database",
            agentFlags + listen(build) + store + ["--allow-local-sources", "--db-engine", "postgresql", "--pg-admin-host", build.address,
                                  "--pg-admin-port", String(postgres.port), "--pg-admin-passfile", postgres.adminPassfile],
            environment: Wheels.environment(wheels))
        for (name, ports) in [("app1", "21000-21999"), ("app2", "22000-22999")] {
            agents[name] = try await startAppserver(name, ports: ports, agentFlags: agentFlags + listen(try cluster.host(name)))
        }
        agents["proxy"] = try await cluster.startAgent(
            on: proxy, queues: "proxy",
            agentFlags + listen(proxy) + store + ["--nginx-prefix", nginx.prefix, "--nginx-conf", nginx.confPath, "--nginx-sites",
                                  nginx.sitesDirectory, "--proxy-port", String(nginx.port), "--proxy-address", proxy.address])
        coordinator = try await cluster.startCoordinator(
            on: try coord, (wakeups ? ["--rescan", "5s"] : ["--rescan", "500ms"]) + ["--no-fsync"] + listen(try coord))
        if wakeups {
            // The agents started before the coordinator: each learns where to ring it at its next look at the
            // spool (every 10 s). Measured is the steady state, once every agent rings the coordinator.
            let agents = Array(agents.values)
            let ready = await Cluster.poll(timeout: 60) {
                agents.allSatisfy { $0.standardError.contains("rings changed") && $0.standardError.contains("results=") }
            }
            try #require(ready, "the agents never learnt the coordinator's wake-up address")
        }
    }

    func startAppserver(_ name: String, ports: String, agentFlags: [String] = ["--rescan", "500ms", "--no-fsync"])
        async throws -> ClusterProcess
    {
        let host = try cluster.host(name)
        return try await cluster.startAgent(
            on: host, queues: "appserver_" + name,
            agentFlags + ["--bundle-store", "file://" + cluster.root + "/store", "--app-address", host.address,
                          "--app-ports", ports, "--supervise", "500ms"])
    }

    /// A git repository of examples/hello, as a user's would be.
    func makeRepository() async throws {
        try FileManager.default.copyItem(atPath: Self.example, toPath: repository)
        for arguments in [["init", "-q", "--initial-branch=main"], ["add", "-A"], ["commit", "-qm", "hello"]] {
            let outcome = try await Subprocess.run(
                ["git", "-c", "user.email=t@dz.invalid", "-c", "user.name=t"] + arguments,
                environment: ["PATH": Cluster.path, "HOME": cluster.root, "GIT_CONFIG_NOSYSTEM": "1"],
                workingDirectory: repository, timeout: 60)
            guard outcome.succeeded else { throw Cluster.Failure("git \(arguments): \(outcome.tail())") }
        }
    }

    /// `dz <arguments>` on the coordinator's host.
    func dz(_ arguments: [String], timeout: Double = 900) async throws -> Subprocess.Outcome {
        try await cluster.dz(on: try coord, arguments, environment: try coordEnvironment, timeout: timeout)
    }

    /// `dz deploy` of the example with two instances on PostgreSQL; returns the job id and the outcome.
    func deploy() async throws -> (job: String, outcome: Subprocess.Outcome) {
        let outcome = try await dz(["deploy", repository, "--project", RoleCluster.project, "--hostname", Self.hostname,
                                    "--instances", "2", "--workers", "1", "--db-engine", "postgresql"])
        let first = outcome.stdoutText.split(separator: "\n").first ?? ""
        guard first.hasPrefix("job "), let id = first.dropFirst(4).split(separator: ":").first else {
            throw Cluster.Failure("dz deploy printed no job id: \(outcome.stdoutText)\n\(outcome.stderrText)")
        }
        return (String(id), outcome)
    }

    func show(_ id: String) async throws -> [String: JSONValue] {
        let outcome = try await dz(["job", "show", id, "--json"], timeout: 60)
        guard outcome.succeeded, let job = try JSONValue.parse(outcome.stdout).objectValue else {
            throw Cluster.Failure("dz job show \(id): \(outcome.tail())")
        }
        return job
    }

    /// The time in the job's span (first dispatch to last finish) when none of its steps ran: the waits between
    /// hosts (a drop not yet seen, a result not yet taken in) and the coordinator's own work.
    static func timeNoStepRan(_ job: [String: JSONValue]) -> Double? {
        let spans = (job["steps"]?.arrayValue ?? []).compactMap { step -> (Double, Double, Double)? in
            func time(_ key: String) -> Double? {
                step.objectValue?[key]?.stringValue.flatMap { Timestamp(rfc3339: $0) }?.seconds
            }
            guard let dispatched = time("dispatched"), let started = time("started"), let finished = time("finished")
            else { return nil }
            return (dispatched, started, finished)
        }
        guard let first = spans.map(\.0).min(), let last = spans.map(\.2).max() else { return nil }
        var running = 0.0, reach = first
        for (_, started, finished) in spans.sorted(by: { $0.1 < $1.1 }) where finished > reach {
            running += finished - max(started, reach)
            reach = finished
        }
        return (last - first) - running
    }

    /// Follows `job` from `host`, which has no zoomdb: `dz job wait` and `dz job show --json` read the state the
    /// coordinator publishes; the job succeeded, with the `instances` the coordinator's host sees.
    func expectFollowed(_ job: String, from host: ClusterHost, instances: [(instance: String, appserver: String)])
        async throws
    {
        let waited = try await cluster.dz(on: host, ["job", "wait", job], timeout: 120)
        #expect(waited.succeeded, "dz job wait from \(host.name): \(waited.stdoutText)\n\(waited.stderrText)")
        let shown = try await cluster.dz(on: host, ["job", "show", job, "--json"], timeout: 60)
        #expect(shown.succeeded, "dz job show from \(host.name): \(shown.stderrText)")
        let followed = try JSONValue.parse(shown.stdout).objectValue ?? [:]
        #expect(followed["state"] == .string("succeeded"), "\(shown.stdoutText.prefix(300))")
        #expect(RoleCluster.instances(followed).map(\.instance) == instances.map(\.instance),
                "\(host.name) sees the steps the coordinator's host sees")
    }

    /// The succeeded deploy steps' instances: (instance, appserver host).
    static func instances(_ job: [String: JSONValue]) -> [(instance: String, appserver: String)] {
        guard let steps = job["steps"]?.arrayValue else { return [] }
        return steps.compactMap { step -> (String, String)? in
            guard let object = step.objectValue, object["name"]?.stringValue?.hasPrefix("deploy.") == true,
                  object["state"] == .string("succeeded"),
                  let instance = object["output"]?.objectValue?["instance"]?.stringValue else { return nil }
            // <bundle>.<appserver>.<port>.<started>
            let appserver = instance.split(separator: ".").dropLast(2).last.map(String.init) ?? ""
            return (instance, appserver)
        }.sorted { $0.0 < $1.0 }
    }

    /// `GET path` through nginx, from the root namespace, with the app's Host header.
    func get(_ path: String = "/") async -> (Int, String) {
        await RoleCluster.get(path, nginx: nginx)
    }

    static func get(_ path: String, nginx: NginxServer) async -> (Int, String) {
        do {
            let reply = try await nginx.get(path, host: hostname)
            return (reply.status, reply.body)
        } catch {
            return (0, "\(error)")
        }
    }
}

/// Requests through nginx in a loop until cancelled: how many, and the ones that failed.
final class LoadClient: Sendable {
    let counts = Mutex<(total: Int, failures: [String])>((0, []))

    func run(_ nginx: NginxServer) async {
        while !Task.isCancelled {
            let (code, body) = await RoleCluster.get("/", nginx: nginx)
            if Task.isCancelled { break }
            counts.withLock { counts in
                counts.total += 1
                if code != 200 { counts.failures.append("\(code): \(body.prefix(200))") }
            }
        }
    }
}
