#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A TCP socket to or on a numeric IPv4 or IPv6 address: the one place dz calls the socket functions (an
/// appserver finding a free port, the health check's HTTP request).
public final class TCPSocket: @unchecked Sendable {
    // @unchecked: used by one thread at a time (created, used and closed within one call).
    private let fd: Int32
    private let storage: sockaddr_storage
    private let length: socklen_t

    /// A new socket for `address:port`.
    ///
    /// The corresponding C functions are `inet_pton` and `socket(SOCK_CLOEXEC)`.
    public init(address: String, port: Int) throws(Errno) {
        let (family, storage, length) = try Self.socketAddress(address, port: port)
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Errno(rawValue: errno) }
        self.fd = fd
        self.storage = storage
        self.length = length
    }

    /// The family, socket address and its length of a numeric IPv4 or IPv6 `address` and `port` (see
    /// `SocketAddress`, which checks both).
    static func socketAddress(_ address: String, port: Int) throws(Errno)
        -> (family: Int32, storage: sockaddr_storage, length: socklen_t)
    {
        let parsed = try SocketAddress(host: address, port: port)
        let (storage, length) = parsed.sockaddrStorage
        return (parsed.family == .v4 ? AF_INET : AF_INET6, storage, length)
    }

    deinit { _ = close(fd) }

    /// Binds the address with `SO_REUSEADDR`, as gunicorn does: true when the port is free now.
    ///
    /// The corresponding C functions are `setsockopt` and `bind`.
    public func canBind() -> Bool {
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = storage
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 }
        }
    }

    /// Connects, with send and receive time limits of `timeout` seconds (Linux applies the send limit to
    /// `connect` too).
    ///
    /// The corresponding C functions are `setsockopt(SO_SNDTIMEO, SO_RCVTIMEO)` and `connect`.
    public func connect(timeout: Double) throws(Errno) {
        var limit = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1e6))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = storage
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, length) }
        }
        if result != 0 { throw Errno(rawValue: errno) }
    }

    /// Sends all of `bytes`.
    ///
    /// The corresponding C function is `send(MSG_NOSIGNAL)`.
    public func send(_ bytes: [UInt8]) throws(Errno) {
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw Errno(rawValue: errno)
            }
            sent += count
        }
    }

    /// Receives until `enough` says so, the peer closes, or `limit` bytes have come.
    ///
    /// The corresponding C function is `recv`.
    public func receive(limit: Int, until enough: ([UInt8]) -> Bool) throws(Errno) -> [UInt8] {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while received.count < limit, !enough(received) {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if count < 0 {
                if errno == EINTR { continue }
                throw Errno(rawValue: errno)
            }
            if count == 0 { break }
            received += buffer[0..<count]
        }
        return received
    }
}
