import DZSystem

/// systemd's readiness protocol (sd_notify(3)) without libsystemd: one datagram of `KEY=value` lines to the unix
/// socket systemd names in `NOTIFY_SOCKET`, for a unit of `Type=notify`.
///
/// A daemon says `READY=1` once it serves (an agent after its first scan of its queues, the coordinator after its
/// recovery), keeps `STATUS=` current (what `systemctl status` shows), pings `WATCHDOG=1` at half of
/// `WATCHDOG_USEC` when the unit sets `WatchdogSec=` (systemd kills and restarts a daemon whose loop hangs), and
/// says `STOPPING=1` when SIGTERM starts its graceful stop. Without `NOTIFY_SOCKET` there is no notifier: outside
/// systemd (a terminal, cron, the tests' plain runs) nothing is sent.
public struct ServiceNotifier: Sendable {
    /// The socket's path (`@` first: the abstract namespace).
    public let socketPath: String
    /// Seconds between watchdog pings (half of `WATCHDOG_USEC`), or nil when the unit sets no watchdog or sets it
    /// for another process (`WATCHDOG_PID`).
    public let watchdogInterval: Double?
    private let socket: UnixDatagramSocket

    /// The notifier `environment` asks for; nil without a usable `NOTIFY_SOCKET` (unset, not a path, too long, or
    /// no socket can be made).
    public init?(environment: [String: String], pid: Int32 = Host.pid) {
        guard let path = environment["NOTIFY_SOCKET"], path.hasPrefix("/") || path.hasPrefix("@"),
              path.utf8.count <= UnixDatagramSocket.maxPathLength,
              let socket = try? UnixDatagramSocket()
        else { return nil }
        socketPath = path
        self.socket = socket
        watchdogInterval = ServiceNotifier.watchdogInterval(environment: environment, pid: pid)
    }

    /// Half of `WATCHDOG_USEC` in seconds, when it is a positive number of microseconds and `WATCHDOG_PID`, if
    /// set, is `pid`.
    static func watchdogInterval(environment: [String: String], pid: Int32) -> Double? {
        if let owner = environment["WATCHDOG_PID"], Int32(owner) != pid { return nil }
        guard let text = environment["WATCHDOG_USEC"], let microseconds = UInt64(text), microseconds > 0,
              microseconds <= 86_400_000_000 * 365
        else { return nil }
        return Double(microseconds) / 2_000_000
    }

    /// `READY=1`, with a first status.
    @discardableResult
    public func ready(status: String) -> Bool { send(["READY=1", "STATUS=" + ServiceNotifier.oneLine(status)]) }

    /// `STATUS=…`: one line `systemctl status` shows.
    @discardableResult
    public func status(_ text: String) -> Bool { send(["STATUS=" + ServiceNotifier.oneLine(text)]) }

    /// `WATCHDOG=1`: the daemon's loop is alive.
    @discardableResult
    public func watchdog() -> Bool { send(["WATCHDOG=1"]) }

    /// `STOPPING=1`: a graceful stop has begun.
    @discardableResult
    public func stopping(status: String) -> Bool { send(["STOPPING=1", "STATUS=" + ServiceNotifier.oneLine(status)]) }

    /// Sends the lines as one datagram; false when it could not be sent (systemd gone: nothing to do about it).
    @discardableResult
    public func send(_ lines: [String]) -> Bool {
        do {
            try socket.send(Array((lines.joined(separator: "\n") + "\n").utf8), to: socketPath)
            return true
        } catch {
            return false
        }
    }

    /// A status is one line: a newline would start a field of its own (a task's name cannot forge `READY=1`).
    static func oneLine(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 }.prefix(400))
    }
}
