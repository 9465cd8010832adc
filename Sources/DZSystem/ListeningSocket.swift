#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import CDZShims

/// A listening TCP socket that this process holds on behalf of a server it starts: the appserver binds an
/// instance's port itself, passes the socket to gunicorn (`--bind fd://3`), and keeps its own copy open while the
/// instance is recorded. The port stays bound when the server dies: no other process can bind it (the socket has
/// no `SO_REUSEPORT`, and a listening socket excludes `SO_REUSEADDR` binds of the same port on any address), and
/// connections wait in its backlog for the relaunched server instead of reaching anyone else.
public final class ListeningSocket: Sendable {
    public let descriptor: Int32
    public let address: String
    public let port: Int

    private init(descriptor: Int32, address: String, port: Int) {
        self.descriptor = descriptor
        self.address = address
        self.port = port
    }

    deinit { _ = close(descriptor) }

    /// Binds `address:port` (with `SO_REUSEADDR`, so that connections of a previous server in `TIME_WAIT` do not
    /// keep the port) and listens; `EADDRINUSE` when another socket has the port.
    ///
    /// The corresponding C functions are `socket(SOCK_CLOEXEC)`, `setsockopt(SO_REUSEADDR)`, `bind` and `listen`.
    public static func bind(address: String, port: Int, backlog: Int32 = 2048) throws(Errno) -> ListeningSocket {
        let (family, storage, length) = try TCPSocket.socketAddress(address, port: port)
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Errno(rawValue: errno) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if family == AF_INET6 {
            _ = setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = storage
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, length) }
        }
        guard bound == 0, Glibc.listen(fd, backlog) == 0 else {
            let error = Errno(rawValue: errno)
            _ = close(fd)
            throw error
        }
        // Port 0 asks the kernel for one: the socket says which.
        let chosen = boundAddress(of: fd) ?? Self.numeric(storage)
        return ListeningSocket(descriptor: fd, address: chosen.address, port: chosen.port)
    }

    /// A copy of the listening socket on `address:port` that process `pid` holds, or nil when it holds none (or it
    /// cannot be reached): how an agent that started again takes back the ports of the servers it left running.
    ///
    /// The corresponding C functions are `pidfd_open`, `pidfd_getfd`, `getsockname` and `getsockopt(SO_ACCEPTCONN)`.
    public static func take(from pid: Int32, address: String, port: Int) -> ListeningSocket? {
        guard pid > 0, let wanted = try? TCPSocket.socketAddress(address, port: port) else { return nil }
        let want = numeric(wanted.storage)
        let pidfd = dz_pidfd_open(pid)
        guard pidfd >= 0 else { return nil }
        defer { _ = close(pidfd) }
        for name in (try? FileSystem.names(in: "/proc/\(pid)/fd")) ?? [] {
            guard let target = Int32(name), let link = try? FileSystem.readLink("/proc/\(pid)/fd/\(name)"),
                  link.hasPrefix("socket:") else { continue }
            let fd = dz_pidfd_getfd(pidfd, target)
            guard fd >= 0 else { continue }
            let socket = ListeningSocket(descriptor: fd, address: address, port: port)
            if socket.isListening, let bound = socket.boundAddress, bound.port == want.port,
               bound.address == want.address
            {
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                return socket
            }
        }
        return nil
    }

    /// Whether the socket is listening.
    var isListening: Bool {
        var value: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(descriptor, SOL_SOCKET, SO_ACCEPTCONN, &value, &size) == 0 && value != 0
    }

    /// The address and port it is bound to, or nil for a socket that is not IPv4 or IPv6.
    var boundAddress: (address: String, port: Int)? { Self.boundAddress(of: descriptor) }

    /// The address and port the socket `fd` is bound to, or nil for a socket that is not IPv4 or IPv6.
    ///
    /// The corresponding C function is `getsockname`.
    static func boundAddress(of fd: Int32) -> (address: String, port: Int)? {
        var storage = sockaddr_storage()
        var size = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let got = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &size) }
        }
        guard got == 0, storage.ss_family == sa_family_t(AF_INET) || storage.ss_family == sa_family_t(AF_INET6)
        else { return nil }
        return Self.numeric(storage)
    }

    /// The numeric address and the port of an IPv4 or IPv6 socket address.
    ///
    /// The corresponding C function is `inet_ntop`.
    static func numeric(_ storage: sockaddr_storage) -> (address: String, port: Int) {
        var storage = storage
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        return withUnsafePointer(to: &storage) { raw -> (String, Int) in
            if raw.pointee.ss_family == sa_family_t(AF_INET) {
                return raw.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 in
                    var address = v4.pointee.sin_addr
                    inet_ntop(AF_INET, &address, &text, socklen_t(text.count))
                    return (String(cString: text), Int(UInt16(bigEndian: v4.pointee.sin_port)))
                }
            }
            return raw.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
                var address = v6.pointee.sin6_addr
                inet_ntop(AF_INET6, &address, &text, socklen_t(text.count))
                return (String(cString: text), Int(UInt16(bigEndian: v6.pointee.sin6_port)))
            }
        }
    }
}
