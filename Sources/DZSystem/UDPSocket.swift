#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A UDP socket, IPv4 or IPv6: the one place dz calls the datagram socket functions (the wake-up rings between
/// hosts). Non-blocking; a listener waits for datagrams with `wait`, which `close()` from another thread ends.
public final class UDPSocket: @unchecked Sendable {
    // @unchecked: the descriptors never change after init and are closed once, in deinit; `send` and `receive`
    // are single system calls the kernel serialises.
    private let fd: Int32
    private let wakeRead: Int32
    private let wakeWrite: Int32
    public let family: SocketAddress.Family

    /// What `wait` saw.
    public enum Readiness: Sendable, Equatable {
        case readable, timedOut, closed
    }

    /// An unbound socket for sending to addresses of `family`.
    ///
    /// The corresponding C function is `socket(SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC)`.
    public convenience init(family: SocketAddress.Family) throws(Errno) {
        try self.init(family: family, bind: nil)
    }

    /// A socket bound to `address` (port 0: the kernel picks one; see `localAddress`). An IPv6 socket takes
    /// IPv6 only (`IPV6_V6ONLY`): `::` does not also mean every IPv4 address.
    ///
    /// The corresponding C functions are `socket`, `setsockopt(IPV6_V6ONLY)` and `bind`.
    public convenience init(binding address: SocketAddress) throws(Errno) {
        try self.init(family: address.family, bind: address)
    }

    private init(family: SocketAddress.Family, bind address: SocketAddress?) throws(Errno) {
        let domain = family == .v4 ? AF_INET : AF_INET6
        let type = Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = try retryingInterrupts { socket(domain, type, 0) }.get()
        if family == .v6 {
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        if let address {
            let bound = address.withSockaddr { pointer, length in Glibc.bind(fd, pointer, length) }
            if bound != 0 {
                let code = errno
                _ = Glibc.close(fd)
                throw Errno(rawValue: code)
            }
        }
        var pipeFDs: [Int32] = [0, 0]
        if case .failure(let error) = retryingInterrupts({ pipe(&pipeFDs) }) {
            _ = Glibc.close(fd)
            throw error
        }
        for end in pipeFDs {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, O_NONBLOCK)
        }
        self.fd = fd
        self.family = family
        wakeRead = pipeFDs[0]
        wakeWrite = pipeFDs[1]
    }

    deinit {
        _ = Glibc.close(fd)
        _ = Glibc.close(wakeRead)
        _ = Glibc.close(wakeWrite)
    }

    /// The address the socket is bound to, with the port the kernel chose.
    ///
    /// The corresponding C function is `getsockname`.
    public func localAddress() throws(Errno) -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard result == 0 else { throw Errno(rawValue: errno) }
        guard let address = SocketAddress(storage) else { throw .addressFamilyNotSupported }
        return address
    }

    /// Sends one datagram without waiting: a full send buffer is `EAGAIN`, not a wait.
    ///
    /// The corresponding C function is `sendto(MSG_DONTWAIT | MSG_NOSIGNAL)`.
    public func send(_ bytes: [UInt8], to address: SocketAddress) throws(Errno) {
        guard address.family == family else { throw .addressFamilyNotSupported }
        let flags = Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL)
        _ = try retryingInterrupts {
            bytes.withUnsafeBytes { raw in
                address.withSockaddr { pointer, length in sendto(fd, raw.baseAddress, raw.count, flags, pointer, length) }
            }
        }.get()
    }

    /// One waiting datagram (at most `limit` bytes; a longer one is cut, and `truncated` says so) and its sender,
    /// or nil when none waits.
    ///
    /// The corresponding C function is `recvfrom(MSG_TRUNC)`.
    public func receive(limit: Int) throws(Errno) -> (bytes: [UInt8], truncated: Bool, from: SocketAddress?)? {
        var buffer = [UInt8](repeating: 0, count: max(1, limit))
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let count = buffer.withUnsafeMutableBytes { raw in
            withUnsafeMutablePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { from in
                    retryingInterrupts { recvfrom(fd, raw.baseAddress, raw.count, Int32(MSG_TRUNC), from, &length) }
                }
            }
        }
        switch count {
        case .success(let size):
            let kept = min(size, buffer.count)
            return (Array(buffer[0..<kept]), size > buffer.count, SocketAddress(storage))
        case .failure(let error):
            if error == .resourceTemporarilyUnavailable || error == .wouldBlock { return nil }
            throw error
        }
    }

    /// Blocks until a datagram waits, `timeout` seconds pass (nil: no limit), or `close()` is called.
    ///
    /// The corresponding C function is `poll`.
    public func wait(timeout: Double?) throws(Errno) -> Readiness {
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
        let milliseconds = timeout.map { Int32(min(max(($0 * 1000).rounded(.up), 0), 3_600_000)) } ?? -1
        let ready = try retryingInterrupts { poll(&fds, 2, milliseconds) }.get()
        if fds[1].revents != 0 { return .closed }
        return ready == 0 ? .timedOut : .readable
    }

    /// Makes every `wait`, now and later, return `.closed`. The descriptors stay open until the socket is freed.
    public func close() {
        var byte: UInt8 = 1
        _ = Glibc.write(wakeWrite, &byte, 1)
    }
}
