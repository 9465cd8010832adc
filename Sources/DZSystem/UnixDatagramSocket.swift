#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A unix-domain datagram socket: the one place dz calls the socket functions for systemd's notification socket
/// (`NOTIFY_SOCKET`, see `ServiceNotifier`). A path starting with `@` names the abstract namespace, as systemd
/// writes it.
public final class UnixDatagramSocket: @unchecked Sendable {
    // @unchecked: the descriptor never changes after init and is closed once, in deinit; `send` and `receive`
    // are single system calls the kernel serialises.
    private let fd: Int32
    /// The path bound to, if any.
    public let path: String?

    /// The longest path a `sockaddr_un` holds (without its terminating zero).
    public static let maxPathLength = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    /// An unbound socket, for sending.
    ///
    /// The corresponding C function is `socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC)`.
    public convenience init() throws(Errno) {
        try self.init(binding: nil)
    }

    /// A socket bound to `path` (which must not exist yet), for receiving.
    ///
    /// The corresponding C functions are `socket` and `bind`.
    public init(binding path: String?) throws(Errno) {
        let type = Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = try retryingInterrupts { socket(AF_UNIX, type, 0) }.get()
        if let path {
            let bound = UnixDatagramSocket.withAddress(path) { pointer, length in
                pointer.map { Glibc.bind(fd, $0, length) } ?? -2
            }
            if bound != 0 {
                let code = bound == -2 ? ENAMETOOLONG : errno
                _ = Glibc.close(fd)
                throw Errno(rawValue: code)
            }
        }
        self.fd = fd
        self.path = path
    }

    deinit { _ = Glibc.close(fd) }

    /// Sends one datagram to the socket at `path`.
    ///
    /// The corresponding C function is `sendto` (with `MSG_NOSIGNAL`).
    public func send(_ bytes: [UInt8], to path: String) throws(Errno) {
        var failure: Errno?
        let sent = UnixDatagramSocket.withAddress(path) { pointer, length -> Int in
            guard let pointer else {
                failure = Errno(rawValue: ENAMETOOLONG)
                return -1
            }
            let result = bytes.withUnsafeBytes { raw in
                retryingInterrupts { sendto(fd, raw.baseAddress, raw.count, Int32(MSG_NOSIGNAL), pointer, length) }
            }
            switch result {
            case .success(let count): return count
            case .failure(let error):
                failure = error
                return -1
            }
        }
        if let failure { throw failure }
        if sent != bytes.count { throw Errno(rawValue: EMSGSIZE) }
    }

    /// Waits at most `timeout` seconds for a datagram and returns it (at most 64 KiB); nil when none came.
    ///
    /// The corresponding C functions are `poll` and `recv`.
    public func receive(timeout: Double) throws(Errno) -> [UInt8]? {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(max(0, min(timeout, 86_400)) * 1000)
        let ready = try retryingInterrupts { poll(&descriptor, 1, milliseconds) }.get()
        guard ready > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let count = try buffer.withUnsafeMutableBytes { raw in
            retryingInterrupts { recv(fd, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT)) }
        }.get()
        return Array(buffer[0..<count])
    }

    /// Calls `body` with the C form of `path` (nil when it is too long or empty). A leading `@` is the abstract
    /// namespace: a zero byte in its place, and a length without a terminating zero.
    private static func withAddress<T>(_ path: String, _ body: (UnsafePointer<sockaddr>?, socklen_t) -> T) -> T {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        if abstract { bytes[0] = 0 }
        guard !bytes.isEmpty, bytes.count <= maxPathLength, !bytes.dropFirst(abstract ? 1 : 0).contains(0) else {
            return body(nil, 0)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let offset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path) ?? 2
        let length = socklen_t(offset + bytes.count + (abstract ? 0 : 1))
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }
}
