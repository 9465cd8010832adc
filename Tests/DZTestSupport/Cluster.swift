import DZSpool
import DZSystem
import Foundation
import Synchronization
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Several hosts on this one machine, for the tests that need them: one network namespace per host on a bridge of
/// the cluster's own, each with its own view of the spool.
///
/// Networking: the bridge gets the first address of a /24 in 10.200-250.x.y that no interface, route or other
/// cluster uses, then every host its namespace, a veth pair (one end on the bridge, the other, `eth0`, in the
/// namespace) and its address, all before any process starts: a packet for the cluster's addresses can never leave
/// the machine by the default route. Namespaces get no default route, so nothing in them reaches outside (pip
/// needs a wheel directory: see `Wheels`). The test itself talks to the hosts from the root namespace through the
/// bridge.
///
/// Spool: `.shared` makes one spool directory and mounts it once per host with bindfs, so that a host's inotify
/// is blind to the other hosts' writes and POSIX locks are not shared, as on NFS clients; `.synced` gives every
/// host a spool directory of its own (for a sync tool to connect).
///
/// Teardown (`stop`, run by `with` whatever happened) kills every process of every namespace, unmounts the views
/// (lazily if they are busy), deletes the namespaces (their veths go with them) and the bridge, and removes the
/// scratch directory. What a cluster makes is written down in `/run/dz-cluster/<id>` before it is made, so that a
/// test process killed before its teardown leaves nothing behind for long: the next cluster started on the machine
/// tears down every recorded cluster whose process is gone (`sweepAbandoned`).
public final class Cluster: @unchecked Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    public enum SpoolLayout: Sendable {
        /// One spool directory, one bindfs view of it per host (NFS-like).
        case shared
        /// One spool directory per host, nothing shared (a sync tool connects them).
        case synced
    }

    /// A plain Debian PATH, as a fresh machine has: processes on the hosts never see pyenv or the tester's tools.
    public static let path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    public let record: ClusterRecord
    public let layout: SpoolLayout
    public let hosts: [ClusterHost]
    /// The bridge's own address: where the hosts reach the root namespace (the test).
    public let bridgeAddress: String
    /// The one spool directory of a shared-spool cluster (`nil` when synced): the test's own view, which writes
    /// behind every host's inotify.
    public let spoolDirectory: String?
    public let logDirectory: String
    private let processes = Mutex<[ClusterProcess]>([])
    private let stopped = Mutex(false)

    public var root: String { record.root }
    /// The /24 of the cluster, as `10.a.b.0/24`.
    public var subnet: String { record.subnet + ".0/24" }

    init(record: ClusterRecord, layout: SpoolLayout, hosts: [ClusterHost], spoolDirectory: String?) {
        self.record = record
        self.layout = layout
        self.hosts = hosts
        bridgeAddress = record.subnet + ".1"
        self.spoolDirectory = spoolDirectory
        logDirectory = record.root + "/output"
    }

    /// The host named `name`.
    public func host(_ name: String) throws -> ClusterHost {
        guard let host = hosts.first(where: { $0.name == name }) else { throw Failure("no host \(name) in the cluster") }
        return host
    }

    // MARK: - Making one

    /// Makes a cluster of `names` (each also the host's dz host id), with the spool laid out as `layout` and
    /// initialized (`dz init`'s queues) on every host.
    public static func start(hosts names: [String], layout: SpoolLayout = .shared) async throws -> Cluster {
        guard getuid() == 0 else { throw Failure("a cluster needs root (network namespaces, bindfs)") }
        try await Preflight.check(layout: layout)
        await sweepAbandoned()
        for name in names where !HostIDCheck.isValid(name) || name.count > 20 {
            throw Failure("host name \(name): use [a-z0-9-], at most 20 characters")
        }
        var template = Array("/tmp/dz-cluster.XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw Failure("mkdtemp: \(Errno(rawValue: errno))")
        }
        let root = String(cString: made)
        // Apps run as their own users and nginx's workers as www-data: they must be able to enter it.
        chmod(root, 0o755)
        let record = try ClusterRecord.claim(root: root, hosts: names, mounts: layout == .shared)
        let cluster: Cluster
        do {
            cluster = try await build(record, layout: layout)
        } catch {
            await Task { await ClusterRecord.tearDown(record) }.value
            throw error
        }
        return cluster
    }

    /// Runs `body` on a new cluster and tears it down afterwards, whatever happened.
    public static func with<T>(hosts names: [String], layout: SpoolLayout = .shared,
                               _ body: (Cluster) async throws -> T) async throws -> T
    {
        let cluster = try await start(hosts: names, layout: layout)
        do {
            let value = try await body(cluster)
            await cluster.stop()
            return value
        } catch {
            await cluster.stop()
            throw error
        }
    }

    private static func build(_ record: ClusterRecord, layout: SpoolLayout) async throws -> Cluster {
        let root = record.root
        try FileSystem.makeDirectories(root + "/output")
        // The bridge and its address first: from then on the subnet is routed to the bridge, never outside.
        try await ip(["link", "add", record.bridge, "type", "bridge"])
        try await ip(["addr", "add", record.subnet + ".1/24", "dev", record.bridge])
        try await ip(["link", "set", record.bridge, "up"])
        var hosts: [ClusterHost] = []
        for (index, name) in record.hosts.enumerated() {
            let namespace = record.namespace(of: name)
            let outside = record.veth(index)
            let inside = outside + "n"
            let address = record.subnet + ".\(10 + index)"
            try await ip(["netns", "add", namespace])
            try await ip(["link", "add", outside, "type", "veth", "peer", "name", inside])
            try await ip(["link", "set", inside, "netns", namespace])
            try await ip(["-n", namespace, "link", "set", inside, "name", "eth0"])
            try await ip(["-n", namespace, "addr", "add", address + "/24", "dev", "eth0"])
            try await ip(["-n", namespace, "link", "set", "lo", "up"])
            try await ip(["-n", namespace, "link", "set", "eth0", "up"])
            try await ip(["link", "set", outside, "master", record.bridge])
            try await ip(["link", "set", outside, "up"])
            let directory = root + "/hosts/" + name
            try FileSystem.makeDirectories(directory + "/spool", mode: 0o755)
            chmod(root + "/hosts", 0o755)
            chmod(directory, 0o755)
            hosts.append(ClusterHost(name: name, namespace: namespace, address: address, directory: directory,
                                     spool: directory + "/spool"))
        }
        var spoolDirectory: String?
        switch layout {
        case .shared:
            let shared = root + "/spool"
            try FileSystem.makeDirectories(shared, mode: 0o755)
            try Spool(root: shared, host: HostID("tester"), sync: false).initialize()
            for host in hosts {
                let outcome = try await Subprocess.run(["bindfs", "--no-allow-other", shared, host.spool], timeout: 60)
                guard outcome.succeeded else { throw Failure("bindfs \(shared) \(host.spool): \(outcome.tail())") }
            }
            spoolDirectory = shared
        case .synced:
            for host in hosts {
                try Spool(root: host.spool, host: HostID(host.name), sync: false).initialize()
            }
        }
        let cluster = Cluster(record: record, layout: layout, hosts: hosts, spoolDirectory: spoolDirectory)
        return cluster
    }

    // MARK: - Processes on the hosts

    /// The environment of a process on `host`: a plain PATH, the host's id and its spool, plus `extra`.
    public func environment(on host: ClusterHost, _ extra: [String: String] = [:]) -> [String: String] {
        var environment = ["PATH": Cluster.path, "LANG": "C.UTF-8", "HOME": host.directory,
                           "DZ_HOST_ID": host.name, "DZ_SPOOL": host.spool]
        environment.merge(extra) { $1 }
        return environment
    }

    /// Starts `arguments` (a program on the plain PATH, or a path) on `host`; killed at `stop()`.
    public func start(on host: ClusterHost, _ arguments: [String], label: String? = nil,
                      environment extra: [String: String] = [:], stdin: [UInt8]? = nil) throws -> ClusterProcess
    {
        let process = try ClusterProcess(
            host: host, label: label ?? (arguments.first.map { ($0 as NSString).lastPathComponent } ?? "process"),
            launcher: [Cluster.ipProgram, "netns", "exec", host.namespace], arguments: arguments,
            environment: environment(on: host, extra), logDirectory: logDirectory, stdin: stdin)
        processes.withLock { $0.append(process) }
        return process
    }

    /// Starts `dz <arguments>` on `host` (its spool through `DZ_SPOOL`, its id through `DZ_HOST_ID`).
    public func startDZ(on host: ClusterHost, _ arguments: [String], label: String? = nil,
                        environment extra: [String: String] = [:]) throws -> ClusterProcess
    {
        try start(on: host, [try DZExecutable.path()] + arguments, label: label ?? arguments.first,
                  environment: extra)
    }

    /// Runs `arguments` on `host` to its end (at most `timeout` seconds).
    public func run(on host: ClusterHost, _ arguments: [String], environment extra: [String: String] = [:],
                    input: [UInt8]? = nil, timeout: Double = 120) async throws -> Subprocess.Outcome
    {
        try await Subprocess.run([Cluster.ipProgram, "netns", "exec", host.namespace] + arguments,
                                 environment: environment(on: host, extra), input: input, timeout: timeout)
    }

    /// Runs `dz <arguments>` on `host` to its end.
    public func dz(on host: ClusterHost, _ arguments: [String], environment extra: [String: String] = [:],
                   timeout: Double = 120) async throws -> Subprocess.Outcome
    {
        try await run(on: host, [try DZExecutable.path()] + arguments, environment: extra, timeout: timeout)
    }

    /// The pids of every process in `host`'s namespace now.
    public func pids(on host: ClusterHost) async -> [Int32] {
        await ClusterRecord.pids(in: host.namespace)
    }

    /// Kills every process of `host` with SIGKILL (its agents, its instances, its servers): the host dies, its
    /// network stays (connections to it are refused, as to a machine whose services crashed).
    public func killEverything(on host: ClusterHost) async {
        await ClusterRecord.killEverything(in: host.namespace)
    }

    /// Tears the cluster down (once): every process, the views, the namespaces, the bridge, the scratch directory.
    public func stop() async {
        guard stopped.withLock({ done in defer { done = true }; return !done }) else { return }
        for process in processes.withLock({ $0 }) { process.kill() }
        // In a task of its own: a test cancelled by its time limit must still tear down (Subprocess.run ends its
        // child at once in a cancelled task).
        let record = record
        await Task { await ClusterRecord.tearDown(record) }.value
    }

    // MARK: - Helpers

    static let ipProgram = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { (path: String) in access(path, X_OK) == 0 }
        ?? "ip"

    static func ip(_ arguments: [String]) async throws {
        let outcome = try await Subprocess.run([ipProgram] + arguments, timeout: 30)
        guard outcome.succeeded else { throw Failure("ip \(arguments.joined(separator: " ")): \(outcome.tail())") }
    }

    /// Calls `condition` every `interval` seconds until it holds (true) or `timeout` seconds pass (false).
    public static func poll(timeout: Double, every interval: Double = 0.05, _ condition: () async throws -> Bool)
        async rethrows -> Bool
    {
        let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
        while true {
            if try await condition() { return true }
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(Int(interval * 1000)))
        }
    }
}

/// Host names a cluster accepts: lower-case letters, digits and `-`, as namespaces and host ids both take them.
enum HostIDCheck {
    static func isValid(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 45 }
    }
}
