import DZSpool
import DZSystem
import DZTestSupport
import Foundation

/// The sync tooling of a synced-spool cluster, configured from the files shipped in etc/sync/ (only the per-host
/// values changed: paths, addresses, this host's id, who owns which queue): on every host an rsync daemon that
/// receives, lsyncd that pushes (and, on the coordinator's host, mirrors state/ to the others), and `dz receive`
/// for the queues the host owns.
struct SyncedSpool {
    static let etc = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("etc/sync").path

    let cluster: Cluster
    /// Queue -> the host that owns it.
    let owners: [String: String]

    /// The queues `host` owns.
    func owned(by host: String) -> [String] { owners.filter { $0.value == host }.map(\.key).sorted() }

    /// Starts the daemon, lsyncd and the receiver on every host.
    func start() async throws {
        // lsyncd watches what exists when it starts: every queue of the cluster, hosts/ and cancel/ on every host.
        for host in cluster.hosts {
            let spool = Spool(root: host.spool, host: try HostID(host.name), sync: false)
            for queue in owners.keys { try spool.create(try QueueName(queue)) }
            try FileSystem.makeDirectories(host.spool + "/cancel")
            // The coordinator's host mirrors state/ to the others: it must exist there before lsyncd starts.
            if owners["jobs"] == host.name { try FileSystem.makeDirectories(host.spool + "/state") }
        }
        for host in cluster.hosts {
            try write("dz-sync:cluster-secret\n", to: host.directory + "/rsyncd.secrets")
            try write("cluster-secret\n", to: host.directory + "/rsync.password")
            try FileSystem.makeDirectories(host.directory + "/lsyncd")
            try write(try rsyncdConfiguration(host), to: host.directory + "/rsyncd.conf")
            try write(try lsyncdConfiguration(host), to: host.directory + "/lsyncd.conf.lua")
            let daemon = try cluster.start(on: host, ["rsync", "--daemon", "--no-detach", "--config=" + host.directory
                                                      + "/rsyncd.conf", "--address=" + host.address], label: "rsyncd")
            let listening = await Cluster.poll(timeout: 30) {
                !daemon.isRunning || FreePort.isListening(873, address: host.address)
            }
            guard listening, daemon.isRunning else { throw Cluster.Failure("rsyncd on \(host.name): \(daemon.errorTail)") }
            let owned = owned(by: host.name)
            if !owned.isEmpty {
                let receiver = try cluster.startDZ(on: host, ["receive", "-Q", owned.joined(separator: ","),
                                                              "--rescan", "1s"], label: "receive")
                let started = await Cluster.poll(timeout: 60) {
                    !receiver.isRunning || AuditTrail(spools: [host.spool]).events("receiver-started")
                        .contains { $0["pid"] == String(receiver.pid) }
                }
                guard started, receiver.isRunning else { throw Cluster.Failure("dz receive: \(receiver.errorTail)") }
            }
        }
        for host in cluster.hosts {
            let lsyncd = try cluster.start(on: host, ["lsyncd", "-nodaemon", host.directory + "/lsyncd.conf.lua"],
                                           label: "lsyncd")
            // Started once every sync's first full push (its "recursive startup") has finished.
            let started = await Cluster.poll(timeout: 60) {
                guard lsyncd.isRunning else { return true }
                let log = (try? String(contentsOfFile: host.directory + "/lsyncd/dz.log", encoding: .utf8)) ?? ""
                let begun = log.components(separatedBy: "recursive startup rsync").count - 1
                let finished = log.components(separatedBy: "Normal: Startup of").count - 1
                return begun > 0 && finished >= begun
            }
            guard started, lsyncd.isRunning else {
                let log = (try? String(contentsOfFile: host.directory + "/lsyncd/dz.log", encoding: .utf8)) ?? ""
                throw Cluster.Failure("lsyncd on \(host.name): \(lsyncd.errorTail)\n\(log.suffix(2000))")
            }
        }
    }

    func write(_ text: String, to path: String) throws {
        try? FileSystem.unlink(path)
        try FileIO.create(path, bytes: Array(text.utf8), mode: 0o600, sync: false)
    }

    /// etc/sync/rsyncd.conf with this host's spool, secrets, log and the cluster's subnet.
    func rsyncdConfiguration(_ host: ClusterHost) throws -> String {
        var text = try String(contentsOfFile: Self.etc + "/rsyncd.conf", encoding: .utf8)
        for (from, to) in [("path = /srv/dz/spool", "path = " + host.spool),
                           ("secrets file = /etc/dz/rsyncd.secrets", "secrets file = " + host.directory + "/rsyncd.secrets"),
                           ("log file = /var/log/dz-rsyncd.log", "log file = " + host.directory + "/rsyncd.log"),
                           ("hosts allow = 10.0.0.0/24", "hosts allow = " + cluster.subnet)] {
            guard text.contains(from) else { throw Cluster.Failure("etc/sync/rsyncd.conf has no \"\(from)\"") }
            text = text.replacingOccurrences(of: from, with: to)
        }
        return text
    }

    /// etc/sync/lsyncd.conf.lua with this host's values and the cluster's hosts and owners.
    func lsyncdConfiguration(_ host: ClusterHost) throws -> String {
        var text = try String(contentsOfFile: Self.etc + "/lsyncd.conf.lua", encoding: .utf8)
        let hosts = cluster.hosts.map { "    [\"\($0.name)\"] = \"\($0.address)\"," }.joined(separator: "\n")
        let owners = owners.sorted { $0.key < $1.key }.map { "    [\"\($0.key)\"] = \"\($0.value)\"," }
            .joined(separator: "\n")
        text = try replaceBlock(in: text, starting: "local hosts = {", with: "local hosts = {\n\(hosts)\n}")
        text = try replaceBlock(in: text, starting: "local owners = {", with: "local owners = {\n\(owners)\n}")
        for (from, to) in [("local spool = \"/srv/dz/spool\"", "local spool = \"\(host.spool)\""),
                           ("local me = \"app1\"", "local me = \"\(host.name)\""),
                           ("\"/var/log/lsyncd/dz.log\"", "\"\(host.directory)/lsyncd/dz.log\""),
                           ("\"/var/log/lsyncd/dz.status\"", "\"\(host.directory)/lsyncd/dz.status\""),
                           ("\"/etc/dz/rsync.password\"", "\"\(host.directory)/rsync.password\"")] {
            guard text.contains(from) else { throw Cluster.Failure("etc/sync/lsyncd.conf.lua has no \(from)") }
            text = text.replacingOccurrences(of: from, with: to)
        }
        return text
    }

    func replaceBlock(in text: String, starting start: String, with replacement: String) throws -> String {
        guard let open = text.range(of: start), let close = text[open.upperBound...].range(of: "\n}") else {
            throw Cluster.Failure("etc/sync/lsyncd.conf.lua has no block \(start)")
        }
        return text.replacingCharacters(in: open.lowerBound..<close.upperBound, with: replacement)
    }
}
