#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A numeric IPv4 or IPv6 address and a port, as the socket calls take it (`sockaddr_in` or `sockaddr_in6`).
/// Host names are never resolved: an address given by an operator or read from a file is used as written.
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    public enum Family: Sendable, Hashable {
        case v4, v6
    }

    /// The address as `inet_ntop` writes it (`10.0.0.5`, `fd00::5`).
    public let host: String
    public let port: Int
    public let family: Family

    /// Reads a numeric address (no name look-up) and a port from 0 to 65535.
    ///
    /// The corresponding C functions are `inet_pton` and `inet_ntop`.
    public init(host text: String, port: Int) throws(Errno) {
        guard (0...65535).contains(port), text.utf8.count <= 64, !text.isEmpty else { throw .invalidArgument }
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            family = .v4
            host = SocketAddress.text(AF_INET, &v4)
        } else if inet_pton(AF_INET6, text, &v6) == 1 {
            family = .v6
            host = SocketAddress.text(AF_INET6, &v6)
        } else {
            throw .invalidArgument
        }
        self.port = port
    }

    /// Reads `ADDRESS:PORT`, `[IPV6]:PORT`, or an address alone (then the port is `defaultPort`).
    public init(parsing text: String, defaultPort: Int) throws(Errno) {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw .invalidArgument }
            let inner = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if rest.isEmpty {
                try self.init(host: inner, port: defaultPort)
                return
            }
            guard rest.hasPrefix(":"), let port = SocketAddress.port(rest.dropFirst()) else { throw .invalidArgument }
            try self.init(host: inner, port: port)
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            guard let port = SocketAddress.port(text[text.index(after: colon)...]) else { throw .invalidArgument }
            try self.init(host: String(text[..<colon]), port: port)
        } else {
            try self.init(host: text, port: defaultPort)
        }
    }

    private static func port(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.count <= 5, text.allSatisfy(\.isASCII), let port = Int(text),
              (0...65535).contains(port) else { return nil }
        return port
    }

    private static func text(_ family: Int32, _ address: UnsafeRawPointer) -> String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        guard inet_ntop(family, address, &buffer, socklen_t(buffer.count)) != nil else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `10.0.0.5:7000`, `[fd00::5]:7000`: the form `init(parsing:)` reads back.
    public var description: String {
        family == .v6 ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// The address of every interface (`0.0.0.0`, `::`): fine to bind, meaningless to send to.
    public var isWildcard: Bool { host == "0.0.0.0" || host == "::" }

    /// The same address with another port.
    public func with(port: Int) throws(Errno) -> SocketAddress { try SocketAddress(host: host, port: port) }

    /// Calls `body` with the C form of the address and its length.
    func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        var (storage, length) = sockaddrStorage
        return withUnsafePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }

    /// The address as the socket functions take it, with its length.
    var sockaddrStorage: (sockaddr_storage, socklen_t) {
        var storage = sockaddr_storage()
        let length: socklen_t
        switch family {
        case .v4:
            var v4 = in_addr()
            _ = inet_pton(AF_INET, host, &v4)
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            withUnsafeMutableBytes(of: &storage) { raw in
                let pointer = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self)
                pointer.pointee.sin_family = sa_family_t(AF_INET)
                pointer.pointee.sin_port = in_port_t(UInt16(port).bigEndian)
                pointer.pointee.sin_addr = v4
            }
        case .v6:
            var v6 = in6_addr()
            _ = inet_pton(AF_INET6, host, &v6)
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            withUnsafeMutableBytes(of: &storage) { raw in
                let pointer = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self)
                pointer.pointee.sin6_family = sa_family_t(AF_INET6)
                pointer.pointee.sin6_port = in_port_t(UInt16(port).bigEndian)
                pointer.pointee.sin6_addr = v6
            }
        }
        return (storage, length)
    }

    /// The address in a `sockaddr_storage` the kernel filled in (`recvfrom`, `getsockname`), or nil for another
    /// family.
    init?(_ storage: sockaddr_storage) {
        var storage = storage
        let decoded: (String, Int)? = withUnsafeBytes(of: &storage) { raw in
            let family = Int32(raw.load(as: sa_family_t.self))
            if family == AF_INET {
                var address = raw.load(as: sockaddr_in.self)
                return (SocketAddress.text(AF_INET, &address.sin_addr), Int(UInt16(bigEndian: address.sin_port)))
            }
            if family == AF_INET6 {
                var address = raw.load(as: sockaddr_in6.self)
                return (SocketAddress.text(AF_INET6, &address.sin6_addr), Int(UInt16(bigEndian: address.sin6_port)))
            }
            return nil
        }
        guard let decoded, let address = try? SocketAddress(host: decoded.0, port: decoded.1) else { return nil }
        self = address
    }
}
