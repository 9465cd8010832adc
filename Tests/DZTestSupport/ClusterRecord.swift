import DZSystem
import Foundation
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// What a `Cluster` makes on the machine, written to `/run/dz-cluster/<id>` before it is made: the owning process
/// (pid and start time, so that a reused pid is not taken for it), the scratch directory, the bridge, the
/// namespaces and the mounts. Enough to tear it all down from another process when the owner died before its own
/// teardown.
public struct ClusterRecord: Sendable, Equatable {
    public static let directory = "/run/dz-cluster"

    public let id: String
    public let ownerPID: Int32
    public let ownerStart: String
    public let root: String
    /// The first three octets of the cluster's /24, `10.a.b`.
    public let subnet: String
    public let hosts: [String]
    /// Whether every host has a bindfs view at `<root>/hosts/<host>/spool`.
    public let mounts: Bool

    public var bridge: String { "dzbr" + id }
    public func namespace(of host: String) -> String { "dz-\(id)-\(host)" }
    /// The root-namespace end of host `index`'s veth pair (at most 15 characters).
    public func veth(_ index: Int) -> String { "dzv\(id)\(index)" }
    public var viewPaths: [String] { mounts ? hosts.map { root + "/hosts/" + $0 + "/spool" } : [] }
    var path: String { Self.directory + "/" + id }

    /// Chooses an id and a free /24 and writes the record, under a lock so that two clusters started at once never
    /// pick the same subnet.
    static func claim(root: String, hosts: [String], mounts: Bool) throws -> ClusterRecord {
        try FileSystem.makeDirectories(directory, mode: 0o700)
        let lock = try FileLock(path: directory + "/.lock")
        defer { lock.unlock() }
        let taken = Set(all().map(\.subnet)).union(usedSubnets())
        for _ in 0..<200 {
            let id = String(format: "%04x", UInt16.random(in: 0...UInt16.max))
            let subnet = "10.\(Int.random(in: 200...250)).\(Int.random(in: 0...255))"
            guard !taken.contains(subnet), !FileSystem.exists(directory + "/" + id) else { continue }
            let record = ClusterRecord(id: id, ownerPID: getpid(), ownerStart: processStart(getpid()) ?? "",
                                       root: root, subnet: subnet, hosts: hosts, mounts: mounts)
            try FileIO.create(record.path, bytes: Array(record.text.utf8), mode: 0o600, sync: false)
            return record
        }
        throw Cluster.Failure("no free cluster id and subnet after 200 tries")
    }

    var text: String {
        (["id \(id)", "owner \(ownerPID) \(ownerStart)", "root \(root)", "subnet \(subnet)",
          "mounts \(mounts ? 1 : 0)"] + hosts.map { "host \($0)" }).joined(separator: "\n") + "\n"
    }

    init(id: String, ownerPID: Int32, ownerStart: String, root: String, subnet: String, hosts: [String], mounts: Bool) {
        self.id = id
        self.ownerPID = ownerPID
        self.ownerStart = ownerStart
        self.root = root
        self.subnet = subnet
        self.hosts = hosts
        self.mounts = mounts
    }

    init?(text: String) {
        var fields: [String: [String]] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            fields[parts[0], default: []].append(parts[1])
        }
        let owner = fields["owner"]?.first?.split(separator: " ").map(String.init) ?? []
        guard let id = fields["id"]?.first, id.count == 4, let root = fields["root"]?.first,
              root.hasPrefix("/tmp/dz-cluster."), let subnet = fields["subnet"]?.first, let pid = owner.first.flatMap({ Int32($0) })
        else { return nil }
        self.init(id: id, ownerPID: pid, ownerStart: owner.count > 1 ? owner[1] : "", root: root, subnet: subnet,
                  hosts: fields["host"] ?? [], mounts: fields["mounts"]?.first == "1")
    }

    /// Every recorded cluster on the machine.
    static func all() -> [ClusterRecord] {
        ((try? FileSystem.names(in: directory)) ?? []).filter { !$0.hasPrefix(".") }.compactMap { name in
            (try? FileIO.readAll(directory + "/" + name)).flatMap { ClusterRecord(text: String(decoding: $0, as: UTF8.self)) }
        }
    }

    /// Whether the process that made the cluster is gone (or its pid now belongs to another process).
    var isAbandoned: Bool {
        guard kill(ownerPID, 0) == 0 || errno == EPERM else { return true }
        return processStart(ownerPID) != ownerStart
    }

    /// The start time of process `pid` (field 22 of /proc/<pid>/stat), in clock ticks since boot.
    static func processStart(_ pid: Int32) -> String? {
        guard case .contents(let bytes, _)? = try? FileIO.read("/proc/\(pid)/stat", limit: 4096) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // Field 3 (state) is the first after the command: field 22 is at index 19.
        return fields.count > 19 ? String(fields[19]) : nil
    }

    private func processStart(_ pid: Int32) -> String? { Self.processStart(pid) }

    /// The /24s of the machine's addresses and routes (`10.a.b`), which a cluster must not take.
    static func usedSubnets() -> Set<String> {
        var used = Set<String>()
        for file in ["/proc/net/route"] {
            guard let bytes = try? FileIO.readAll(file) else { continue }
            for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n").dropFirst() {
                let fields = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
                guard fields.count > 2, let destination = UInt32(fields[1], radix: 16) else { continue }
                // Little-endian hex: the first octet is the lowest byte.
                let octets = (0..<3).map { (destination >> (8 * UInt32($0))) & 0xff }
                used.insert("\(octets[0]).\(octets[1]).\(octets[2])")
            }
        }
        return used
    }

    // MARK: - Teardown

    /// Tears down every recorded cluster whose owner is gone.
    static func sweepAbandoned() async {
        for record in all() where record.isAbandoned {
            await tearDown(record)
        }
    }

    /// Tears down what `record` names, whatever of it exists: every process in its namespaces, its views, its
    /// namespaces, its bridge, its scratch directory, then the record. Never throws: each part is tried.
    static func tearDown(_ record: ClusterRecord) async {
        for host in record.hosts { await killEverything(in: record.namespace(of: host)) }
        for view in record.viewPaths where isMountPoint(view) {
            for attempt in 0..<20 {
                if !isMountPoint(view) { break }
                let tool = attempt < 10 ? ["fusermount", "-u", view] : ["umount", "-l", view]
                _ = try? await Subprocess.run(tool, timeout: 30)
                if isMountPoint(view) { try? await Task.sleep(for: .milliseconds(100)) }
            }
        }
        for host in record.hosts {
            _ = try? await Subprocess.run([Cluster.ipProgram, "netns", "del", record.namespace(of: host)], timeout: 30)
        }
        for index in record.hosts.indices {
            _ = try? await Subprocess.run([Cluster.ipProgram, "link", "del", record.veth(index)], timeout: 30)
        }
        _ = try? await Subprocess.run([Cluster.ipProgram, "link", "del", record.bridge], timeout: 30)
        // Never through a view that could not be unmounted: --one-file-system stops at mount points.
        if record.root.hasPrefix("/tmp/dz-cluster.") {
            _ = try? await Subprocess.run(["rm", "-rf", "--one-file-system", "--", record.root], timeout: 120)
        }
        try? FileSystem.unlink(record.path)
    }

    /// The pids of every process in namespace `namespace` (`ip netns pids`).
    static func pids(in namespace: String) async -> [Int32] {
        guard let outcome = try? await Subprocess.run([Cluster.ipProgram, "netns", "pids", namespace], timeout: 30),
              outcome.succeeded else { return [] }
        return outcome.stdoutText.split(whereSeparator: { (character: Character) in character.isWhitespace }).compactMap { Int32($0) }
    }

    /// SIGKILL to every process of `namespace` until none is left (at most 30 s).
    static func killEverything(in namespace: String) async {
        for _ in 0..<300 {
            let found = await pids(in: namespace)
            if found.isEmpty { return }
            for pid in found { kill(pid, SIGKILL) }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Whether `path` is a mount point now (listed in /proc/self/mountinfo).
    static func isMountPoint(_ path: String) -> Bool {
        guard let bytes = try? FileIO.readAll("/proc/self/mountinfo") else { return false }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").contains { line in
            let fields = line.split(separator: " ")
            return fields.count > 4 && fields[4] == path
        }
    }

    /// Whether anything of the cluster is still on the machine: a namespace, the bridge, a mount, the directory.
    public func leftovers() async -> [String] {
        var found: [String] = []
        let namespaces = (try? await Subprocess.run([Cluster.ipProgram, "netns", "list"], timeout: 30))?.stdoutText ?? ""
        for host in hosts where namespaces.contains(namespace(of: host)) { found.append("netns " + namespace(of: host)) }
        let links = (try? await Subprocess.run([Cluster.ipProgram, "-o", "link", "show"], timeout: 30))?.stdoutText ?? ""
        if links.contains(bridge + ":") || links.contains(bridge + "@") { found.append("bridge " + bridge) }
        let addresses = (try? await Subprocess.run([Cluster.ipProgram, "-4", "-o", "addr", "show"], timeout: 30))?
            .stdoutText ?? ""
        if addresses.contains(" " + subnet + ".") { found.append("address in " + subnet + ".0/24") }
        for view in viewPaths where ClusterRecord.isMountPoint(view) { found.append("mount " + view) }
        if FileSystem.exists(root) { found.append("directory " + root) }
        if FileSystem.exists(path) { found.append("record " + path) }
        return found
    }
}

extension Cluster {
    /// Tears down the clusters of test processes that died before their own teardown.
    public static func sweepAbandoned() async { await ClusterRecord.sweepAbandoned() }
}
