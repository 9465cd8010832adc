import DZSystem
import Synchronization

/// Rings the hosts that serve a queue when this process has put a file into it: one `WakeRing` datagram to each
/// address those hosts publish (agents in their heartbeats, the coordinator in `coordinator.lease`, both only
/// when started with a wake-up address). Best effort by design: a ring that is lost, refused or never sent costs
/// the receiver one rescan interval, nothing else.
///
/// `ring` does no file system I/O and sends nothing for a queue nobody listens on: it looks the queue up in a
/// table that `refresh` rebuilds from the spool (the agent after each heartbeat, the coordinator every few
/// seconds). A one-shot client is made with `loadOnFirstRing`, so that only a command that drops reads the
/// heartbeats, once.
public final class Wakeups: WakeupSink {
    /// How often a long-running process rebuilds its table (`refresh`).
    public static let refreshInterval = 10.0
    /// Heartbeats and leases older than this are not rung.
    public static let maxAge = 120.0
    /// At most this many addresses are rung per queue (a spool that lists more is misconfigured, or abused).
    public static let maxAddressesPerQueue = 32

    private struct Table {
        var loaded = false
        var spoolID: String?
        var targets: [QueueName: (ring: [UInt8], addresses: [SocketAddress])] = [:]
    }

    /// What was sent since the start.
    public struct Statistics: Sendable, Equatable {
        public var sent = 0
        public var failed = 0
    }

    private let spool: Spool
    private let loadOnFirstRing: Bool
    private let table = Mutex(Table())
    private let sockets = Mutex<[SocketAddress.Family: UDPSocket]>([:])
    private let counts = Mutex(Statistics())

    /// Rings for `spool` (its host id and pid are this process: it never rings itself).
    public init(spool: Spool, loadOnFirstRing: Bool = false) {
        var plain = spool
        plain.wakeups = nil
        self.spool = plain
        self.loadOnFirstRing = loadOnFirstRing
    }

    /// Rebuilds the table from the heartbeats (each agent's queues and wake addresses) and the coordinator's lease
    /// (`results` and `jobs`). Returns whether whom it rings changed (for a log line).
    @discardableResult
    public func refresh(now: Timestamp = .now()) -> Bool {
        var table = Table()
        table.loaded = true
        if let id = try? spool.identity(), WakeRing.isValidSpoolID(id) { table.spoolID = id }
        var byQueue: [QueueName: Set<SocketAddress>] = [:]
        for beat in spool.heartbeats() where !beat.wake.isEmpty && now - beat.updated <= Wakeups.maxAge {
            guard !(beat.host == spool.host && beat.pid == spool.pid) else { continue }
            for queue in beat.queues { byQueue[queue, default: []].formUnion(beat.wake.filter(Wakeups.isUsable)) }
        }
        let leasePath = spool.root + "/coordinator.lease"
        if let holder = CoordinatorLease.read(leasePath), !holder.wake.isEmpty,
           let status = try? FileSystem.linkStatus(leasePath), now - status.modified <= Wakeups.maxAge,
           !(holder.host == spool.host.rawValue && holder.pid == spool.pid)
        {
            for queue in [QueueName.results, .jobs] {
                byQueue[queue, default: []].formUnion(holder.wake.filter(Wakeups.isUsable))
            }
        }
        if let spoolID = table.spoolID {
            for (queue, addresses) in byQueue where !addresses.isEmpty {
                let sorted = addresses.sorted { $0.description < $1.description }
                table.targets[queue] = (WakeRing(spoolID: spoolID, queue: queue).encoded(),
                                        Array(sorted.prefix(Wakeups.maxAddressesPerQueue)))
            }
        }
        return self.table.withLock { old in
            defer { old = table }
            return !old.loaded || Wakeups.summary(old) != Wakeups.summary(table)
        }
    }

    /// Whom a file put into each queue rings, for a log line: `queue=address,address ...`, queues in order;
    /// empty when nobody listens.
    public var summary: String { table.withLock { Wakeups.summary($0) } }

    private static func summary(_ table: Table) -> String {
        table.targets.keys.sorted().map { queue in
            queue.rawValue + "=" + (table.targets[queue]?.addresses ?? []).map(\.description).joined(separator: ",")
        }.joined(separator: " ")
    }

    /// The addresses a file put into `queue` rings, as the last `refresh` found them.
    public func addresses(of queue: QueueName) -> [SocketAddress] {
        table.withLock { $0.targets[queue]?.addresses ?? [] }
    }

    public var statistics: Statistics { counts.withLock { $0 } }

    public func ring(_ queue: QueueName) {
        if loadOnFirstRing, !table.withLock({ $0.loaded }) { refresh() }
        guard let target = table.withLock({ $0.targets[queue] }) else { return }
        var sent = 0
        var failed = 0
        for address in target.addresses {
            guard let socket = socket(for: address.family) else {
                failed += 1
                continue
            }
            do {
                try socket.send(target.ring, to: address)
                sent += 1
            } catch {
                failed += 1
            }
        }
        counts.withLock {
            $0.sent += sent
            $0.failed += failed
        }
    }

    private func socket(for family: SocketAddress.Family) -> UDPSocket? {
        sockets.withLock { sockets in
            if let socket = sockets[family] { return socket }
            guard let socket = try? UDPSocket(family: family) else { return nil }
            sockets[family] = socket
            return socket
        }
    }

    /// Whether a published address may be rung: a unicast address with a port. The wildcard, broadcast and
    /// multicast addresses are never rung, whatever a file in the spool says.
    public static func isUsable(_ address: SocketAddress) -> Bool {
        guard address.port > 0, !address.isWildcard else { return false }
        switch address.family {
        case .v4:
            let first = Int(address.host.split(separator: ".").first ?? "") ?? 0
            return first < 224 && address.host != "255.255.255.255"
        case .v6:
            return !address.host.lowercased().hasPrefix("ff")
        }
    }
}
