#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import SystemPackage

/// A signal dz sends to a process of its own or of an app.
public struct Signal: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// Asks a process to end (gunicorn: let the workers finish their requests, then exit).
    public static let terminate = Signal(rawValue: SIGTERM)
    /// Ends a process at once.
    public static let kill = Signal(rawValue: SIGKILL)
    /// gunicorn: one worker more.
    public static let ttin = Signal(rawValue: SIGTTIN)
    /// gunicorn: one worker fewer (never below one).
    public static let ttou = Signal(rawValue: SIGTTOU)

    public var description: String {
        switch rawValue {
        case SIGTERM: "SIGTERM"
        case SIGKILL: "SIGKILL"
        case SIGTTIN: "SIGTTIN"
        case SIGTTOU: "SIGTTOU"
        default: "signal \(rawValue)"
        }
    }

    /// Sends the signal to the one process `pid`. A pid below 1 is refused (`EINVAL`): `kill` would read 0 as
    /// the caller's process group and -1 as every process it may signal.
    ///
    /// The corresponding C function is `kill`.
    public func send(to pid: Int32) throws(Errno) {
        guard pid > 0 else { throw .invalidArgument }
        _ = try once { Glibc.kill(pid, rawValue) }.get()
    }
}
