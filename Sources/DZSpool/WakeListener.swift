import DZSystem
import Foundation
import Logging
import Synchronization

/// Listens for wake-up rings (`WakeRing`) on UDP addresses the operator chose, and says which of this process's
/// queues to scan now.
///
/// A ring is believed only as far as "queue X of this spool may have new files": a datagram that does not parse,
/// names another spool, or names a queue this process does not serve is counted and ignored. The rest go through
/// a `WakeThrottle` (folded while a scan is due, rate-limited per queue) and come out of `scans`; the owner lists
/// that queue's `new/`, calling `started` before it lists and `finished` after. Nothing else happens on a ring:
/// the spool stays the truth, and a lost ring costs one rescan interval.
public final class WakeListener: Sendable {
    /// What the listener did since it started.
    public struct Statistics: Sendable, Equatable {
        public var received = 0
        /// Rings that led to a scan (at once or deferred).
        public var scans = 0
        /// Rings folded into a scan already due.
        public var folded = 0
        public var malformed = 0
        public var otherSpool = 0
        public var unserved = 0

        public var ignored: Int { malformed + otherSpool + unserved }
    }

    /// The addresses it listens on, with the ports the kernel chose for port 0: what the heartbeat publishes.
    public let addresses: [SocketAddress]
    /// Queues to scan now, each once per due scan.
    public let scans: AsyncStream<QueueName>

    private let continuation: AsyncStream<QueueName>.Continuation
    private let sockets: [UDPSocket]
    private let state: Mutex<(throttle: WakeThrottle, statistics: Statistics)>

    /// Binds every address in `addresses` (a wildcard is refused: the operator chooses where rings may come from),
    /// and starts listening for rings of spool `spoolID` naming one of `queues`.
    public init(addresses requested: [SocketAddress], spoolID: String, queues: [QueueName],
                limits: WakeThrottle.Limits = WakeThrottle.Limits(), logger: Logger) throws(SpoolError)
    {
        var sockets: [UDPSocket] = []
        var bound: [SocketAddress] = []
        for address in requested {
            if address.isWildcard {
                throw .system(.invalidArgument, operation: "bind (a wildcard address: name the one to listen on)",
                              path: address.description)
            }
            do {
                let socket = try UDPSocket(binding: address)
                sockets.append(socket)
                bound.append(try socket.localAddress())
            } catch {
                throw .system(error, operation: "bind", path: address.description)
            }
        }
        self.sockets = sockets
        addresses = bound
        state = Mutex((WakeThrottle(limits: limits), Statistics()))
        (scans, continuation) = AsyncStream.makeStream(of: QueueName.self, bufferingPolicy: .unbounded)
        let served = Set(queues)
        for socket in sockets {
            let thread = Thread { [self] in listen(socket, spoolID: spoolID, served: served, logger: logger) }
            thread.name = "dz-wake"
            thread.start()
        }
    }

    /// The addresses `--wake-listen` names, else `$DZ_WAKE_LISTEN`, else none (no listener).
    public static func addresses(flag: String?, environment: [String: String]) throws(BadInput) -> [SocketAddress] {
        if let flag, !flag.isEmpty { return try addresses(parsing: flag) }
        if let text = environment["DZ_WAKE_LISTEN"], !text.isEmpty { return try addresses(parsing: text) }
        return []
    }

    /// Reads a `--wake-listen` value: comma-separated `ADDRESS[:PORT]` or `[IPV6][:PORT]`, numeric addresses
    /// only, not a wildcard (`0.0.0.0`, `::`), at most 8; no port (or 0) lets the kernel choose one, which the
    /// heartbeat or lease file publishes.
    public static func addresses(parsing text: String) throws(BadInput) -> [SocketAddress] {
        let items = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !items.isEmpty, items.count <= 8 else {
            throw BadInput("wake-listen", "name 1 to 8 addresses to listen on, comma-separated")
        }
        return try items.map { item throws(BadInput) in
            guard let address = try? SocketAddress(parsing: item, defaultPort: 0) else {
                throw BadInput("wake-listen", "\"\(item.prefix(80))\" is not ADDRESS[:PORT] or [IPV6][:PORT] with a "
                    + "numeric address and a port from 0 to 65535")
            }
            guard !address.isWildcard else {
                throw BadInput("wake-listen", "\(item) is a wildcard: name the address rings may come to "
                    + "(one only the cluster reaches)")
            }
            return address
        }
    }

    /// The scan of `queue` that `scans` handed out starts now (before listing `new/`).
    public func started(_ queue: QueueName) {
        state.withLock { $0.throttle.started(queue) }
    }

    /// The scan of `queue` is done; it took `seconds`.
    public func finished(_ queue: QueueName, seconds: Double) {
        state.withLock { $0.throttle.finished(queue, seconds: seconds, now: .now()) }
    }

    public var statistics: Statistics { state.withLock { $0.statistics } }

    /// Stops listening and ends `scans`.
    public func stop() {
        for socket in sockets { socket.close() }
        continuation.finish()
    }

    private func listen(_ socket: UDPSocket, spoolID: String, served: Set<QueueName>, logger: Logger) {
        var timeout: Double?
        var lastReport = Timestamp.now()
        var reportedIgnored = 0
        var lastSender: SocketAddress?
        while true {
            guard let readiness = try? socket.wait(timeout: timeout), readiness != .closed else { break }
            // Every datagram waiting now, then the deferred scans that are due.
            while let datagram = try? socket.receive(limit: WakeRing.maxSize + 1) {
                lastSender = datagram.from ?? lastSender
                let ring = datagram.truncated ? nil : try? WakeRing(parsing: datagram.bytes)
                let decision: WakeThrottle.Decision? = state.withLock { state in
                    state.statistics.received += 1
                    guard let ring else {
                        state.statistics.malformed += 1
                        return nil
                    }
                    guard ring.spoolID == spoolID else {
                        state.statistics.otherSpool += 1
                        return nil
                    }
                    guard served.contains(ring.queue) else {
                        state.statistics.unserved += 1
                        return nil
                    }
                    let decision = state.throttle.ring(ring.queue, now: .now())
                    switch decision {
                    case .scan: state.statistics.scans += 1
                    case .folded: state.statistics.folded += 1
                    case .deferred: state.statistics.scans += 1
                    }
                    return decision
                }
                if decision == .scan, let ring { continuation.yield(ring.queue) }
            }
            let (due, next) = state.withLock { $0.throttle.due(now: .now()) }
            for queue in due { continuation.yield(queue) }
            timeout = next.map { max(0.001, $0 - .now()) }

            // Ignored datagrams are reported at most once a minute, not one line each: a flood must not fill the
            // log either.
            let now = Timestamp.now()
            if now - lastReport >= 60 {
                let statistics = self.statistics
                if statistics.ignored > reportedIgnored {
                    logger.notice("wake-ups: datagrams ignored", metadata: [
                        "count": "\(statistics.ignored - reportedIgnored)", "malformed": "\(statistics.malformed)",
                        "other_spool": "\(statistics.otherSpool)", "unserved_queue": "\(statistics.unserved)",
                        "last_sender": "\(lastSender.map(\.description) ?? "?")",
                    ])
                    reportedIgnored = statistics.ignored
                }
                lastReport = now
            }
            if timeout == nil, statistics.ignored > reportedIgnored { timeout = 60 }
        }
    }
}
