import DZSpool
import DZSystem

/// `dz doctor`: checks one host's setup for a spool shared with (or synced to) other hosts, and says what is wrong.
///
/// Each check gives one or more findings: `ok`, `warning` (works, but slower or riskier than it should be) or
/// `problem` (breaks dz's guarantees: tasks run twice, lost or late). The checks read the spool and the system and
/// write only a probe file in `hosts/`, removed at once.
public struct Doctor: Sendable {
    public struct Settings: Sendable {
        /// The spool as this host sees it, with this host's id.
        public var spool: Spool
        /// The user the agents run as (default: this process's user).
        public var user: UserAccount?
        /// The zoomdb's path, when this host runs the coordinator (default: `<spool>/zoomdb/zoomdb.sqlite3` if it
        /// exists).
        public var zoomdb: String?
        /// Whether the spool is synced (default: it is when a queue has an `inbox/`).
        public var synced: Bool?
        /// The most clock skew between hosts and the spool that leases tolerate (the agents' `--skew`).
        public var skewLimit: Double
        /// Heartbeats renewed within this many seconds count as live agents.
        public var freshness: Double

        public init(spool: Spool, user: UserAccount? = nil, zoomdb: String? = nil, synced: Bool? = nil,
                    skewLimit: Double = 2, freshness: Double = 60)
        {
            self.spool = spool
            self.user = user
            self.zoomdb = zoomdb
            self.synced = synced
            self.skewLimit = skewLimit
            self.freshness = freshness
        }
    }

    public let settings: Settings
    public let mounts: MountTable

    public init(_ settings: Settings, mounts: MountTable) {
        self.settings = settings
        self.mounts = mounts
    }

    var spool: Spool { settings.spool }

    /// Every check, in order. The spool must exist for the checks after the first.
    public func run(now: Timestamp = .now()) -> [Finding] {
        guard (try? FileSystem.status(spool.root))?.isDirectory == true else {
            return [Finding("spool", .problem, "\(spool.root) is not a directory: run dz init, or mount the spool")]
        }
        var found = [Finding("spool", .ok, "\(spool.root), host id \(spool.host.rawValue)")]
        found += fileSystem()
        found += clock()
        found += hostID(now: now)
        found += sync(now: now)
        found += permissions()
        found += zoomdb()
        return found
    }

    /// The worst severity among `findings`.
    public static func worst(_ findings: [Finding]) -> Finding.Severity {
        findings.map(\.severity).max() ?? .ok
    }

    // MARK: - The spool's file system

    func mount(of path: String) -> MountTable.Mount? {
        mounts.mount(of: (try? FileSystem.resolve(path)) ?? path)
    }

    func fileSystem() -> [Finding] {
        guard let mount = mount(of: spool.root) else {
            return [Finding("filesystem", .warning, "cannot tell which file system \(spool.root) is on")]
        }
        let on = "\(mount.type) (\(mount.source) on \(mount.mountPoint))"
        if mount.isNFS {
            return [Finding("filesystem", .ok, "\(on): shared by NFS")] + NFSMountOptions(mount.options).findings()
        }
        if mount.type.hasPrefix("fuse") {
            return [Finding("filesystem", .warning, """
                \(on): a FUSE file system; dz is tested on NFS and on bindfs views (which behave like NFS clients), \
                not on others: check that rename is atomic and that a rename race has exactly one winner
                """)]
        }
        if mount.isNetworked {
            return [Finding("filesystem", .problem, """
                \(on): dz needs NFS (or one local spool per host, synced): \(mount.type) is not supported
                """)]
        }
        return [Finding("filesystem", .ok, "\(on): local; other hosts need it by NFS, or a synced spool of their own")]
    }

    // MARK: - Clocks

    /// This host's clock against the spool's (a probe file's mtime, set by the file server), and every live agent's
    /// (its heartbeat's `updated`, from its clock, against the file's mtime).
    func clock() -> [Finding] {
        var found: [Finding] = []
        let probe = spool.hostsPath + "/.doctor-probe.\(spool.host.rawValue).\(Host.pid)"
        let before = Timestamp.now()
        do {
            try FileIO.create(probe, bytes: Array("probe\n".utf8), mode: 0o644, sync: false)
            let after = Timestamp.now()
            let modified = try FileSystem.linkStatus(probe).modified
            try? FileSystem.unlink(probe)
            // The kernel stamps local files from a coarse clock, a few ms behind: only beyond that is skew.
            let skew = modified < before + -0.05 ? modified - before : modified > after + 0.05 ? modified - after : 0
            found.append(skewFinding("this host", skew))
        } catch {
            try? FileSystem.unlink(probe)
            found.append(Finding("clock", .problem, "cannot write a probe file in \(spool.hostsPath): \(error)"))
        }
        for beat in spool.heartbeats() where beat.host != spool.host {
            let file = spool.hostsPath + "/" + beat.fileName
            guard let modified = try? FileSystem.linkStatus(file).modified else { continue }
            let skew = beat.updated - modified
            if abs(skew) > 0.5 { found.append(skewFinding("\(beat.host.rawValue) (pid \(beat.pid))", skew)) }
        }
        return found
    }

    func skewFinding(_ whose: String, _ skew: Double) -> Finding {
        let text = "\(whose): \(Self.seconds(skew)) against the spool's file server"
        if abs(skew) > settings.skewLimit {
            return Finding("clock", .problem, """
                \(text), more than the \(Self.seconds(settings.skewLimit)) leases allow: claims may be taken back \
                while they run; run NTP (chrony, systemd-timesyncd) on every host and the file server
                """)
        }
        if abs(skew) > 0.5 { return Finding("clock", .warning, text + ": run NTP on every host and the file server") }
        return Finding("clock", .ok, text)
    }

    static func seconds(_ value: Double) -> String {
        let rounded = (value * 1000).rounded() / 1000
        return (rounded >= 0 ? "+" : "") + String(rounded) + " s"
    }

    // MARK: - Host ids

    func hostID(now: Timestamp) -> [Finding] {
        let others = spool.conflictingHeartbeats(freshness: settings.freshness, now: now)
        guard others.isEmpty else {
            let pids = others.map { "pid \($0.pid), boot \($0.bootID.prefix(8))" }.joined(separator: "; ")
            return [Finding("host-id", .problem, """
                another machine uses the host id \(spool.host.rawValue) (\(pids)): its agents' claims look like this \
                host's, and a dead holder is judged on the wrong machine; give each machine its own DZ_HOST_ID
                """)]
        }
        return [Finding("host-id", .ok, "\(spool.host.rawValue) is used by this machine alone (boot \(Host.bootID.prefix(8)))")]
    }

    // MARK: - Sync mode

    /// Whether the spool is synced: set, or a queue has an `inbox/` (where `dz receive` takes other hosts' pushes).
    func isSynced() -> Bool {
        if let synced = settings.synced { return synced }
        return ((try? spool.queues()) ?? []).contains { FileSystem.exists(spool.path($0) + "/inbox") }
    }

    func sync(now: Timestamp) -> [Finding] {
        guard isSynced() else {
            return [Finding("sync", .ok, "shared spool: any number of hosts may serve a queue")]
        }
        var servers: [QueueName: Set<String>] = [:]
        for beat in spool.heartbeats() where now - beat.updated < settings.freshness {
            for queue in beat.queues { servers[queue, default: []].insert(beat.host.rawValue) }
        }
        let shared = servers.filter { $0.value.count > 1 }.sorted { $0.key < $1.key }
        guard shared.isEmpty else {
            return shared.map { queue, hosts in
                Finding("sync", .problem, """
                    queue \(queue) is consumed on \(hosts.sorted().joined(separator: " and ")): on a synced spool each \
                    queue has one owner, or its tasks run twice; serve it on one host only
                    """)
            }
        }
        return [Finding("sync", .ok, "synced spool: every queue seen in the heartbeats has one owner")]
    }

    // MARK: - Permissions

    /// The user the agents run as must be able to list, create and rename in every directory of the protocol.
    func permissions() -> [Finding] {
        let user = settings.user ?? UserAccount.current
        var directories = [spool.root, spool.hostsPath, spool.logPath]
        for queue in (try? spool.queues()) ?? [] {
            directories += Spool.Stage.allCases.map { spool.path(queue, $0) }
        }
        var refused: [String] = []
        for directory in directories where FileSystem.exists(directory) {
            guard let owner = try? FileOwnership.of(directory) else { continue }
            if !owner.allowsFullUse(by: user) {
                refused.append("\(directory) (uid \(owner.uid), gid \(owner.gid), mode \(String(owner.mode, radix: 8)))")
            }
        }
        guard refused.isEmpty else {
            return [Finding("permissions", .problem, """
                \(user.name) cannot read, write and enter \(refused.count) director\(refused.count == 1 ? "y" : "ies"): \
                \(refused.prefix(5).joined(separator: ", "))\(refused.count > 5 ? ", ..." : ""); give the agents' \
                group rwx (chmod -R g+rwX, chgrp -R) with the setgid bit on directories
                """)]
        }
        return [Finding("permissions", .ok, "\(user.name) can use every directory of the spool (\(directories.count) checked)")]
    }

    // MARK: - The zoomdb

    func zoomdb() -> [Finding] {
        let path = settings.zoomdb ?? spool.root + "/zoomdb/zoomdb.sqlite3"
        guard FileSystem.exists(path) else {
            if settings.zoomdb != nil {
                return [Finding("zoomdb", .warning, "\(path) does not exist yet (the coordinator makes it)")]
            }
            return [Finding("zoomdb", .ok, "no zoomdb in the spool (the coordinator keeps it on its local disk)")]
        }
        guard let mount = mount(of: path) else {
            return [Finding("zoomdb", .warning, "cannot tell which file system \(path) is on")]
        }
        if mount.isNetworked {
            return [Finding("zoomdb", .problem, """
                \(path) is on \(mount.type) (\(mount.mountPoint)): SQLite's locks and WAL do not work across hosts, \
                so jobs can be lost; keep the zoomdb on the coordinator's local disk (--db, DZ_DB)
                """)]
        }
        return [Finding("zoomdb", .ok, "\(path) on \(mount.type), local")]
    }
}
