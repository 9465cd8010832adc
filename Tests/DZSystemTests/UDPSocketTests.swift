@testable import DZSystem
import Testing

@Suite struct UDPSocketTests {
    @Test func addressesAreReadInEveryFormAndWrittenBackTheSameWay() throws {
        #expect(try SocketAddress(parsing: "10.0.0.5:7000", defaultPort: 0).description == "10.0.0.5:7000")
        #expect(try SocketAddress(parsing: "10.0.0.5", defaultPort: 9).description == "10.0.0.5:9")
        #expect(try SocketAddress(parsing: "[fd00::5]:7000", defaultPort: 0).description == "[fd00::5]:7000")
        #expect(try SocketAddress(parsing: "[::1]", defaultPort: 4).description == "[::1]:4")
        #expect(try SocketAddress(parsing: "::1", defaultPort: 4).description == "[::1]:4")
        // inet_ntop's form: a written-out IPv6 address comes back short.
        #expect(try SocketAddress(parsing: "[fd00:0:0:0:0:0:0:5]:1", defaultPort: 0).host == "fd00::5")
        #expect(try SocketAddress(parsing: "0.0.0.0:1", defaultPort: 0).isWildcard)
        #expect(try SocketAddress(parsing: "[::]:1", defaultPort: 0).isWildcard)
        for bad in ["localhost:1", "10.0.0.5:", "10.0.0.5:65536", "10.0.0.5:-1", "10.0.0.5:1x", "[::1", "[::1]x",
                    "[::1]:", "10.0.0.256", "", "1.2.3.4:5:6", "[10.0.0.5]:1:2", "10.0.0.5:٣"] {
            #expect(throws: Errno.self, "\(bad)") { try SocketAddress(parsing: bad, defaultPort: 0) }
        }
    }

    @Test(arguments: ["127.0.0.1", "::1"])
    func aDatagramSentToABoundSocketArrivesWithItsSender(host: String) throws {
        let listener = try UDPSocket(binding: SocketAddress(host: host, port: 0))
        let address = try listener.localAddress()
        #expect(address.port > 0)
        #expect(try listener.receive(limit: 64) == nil)
        let sender = try UDPSocket(family: address.family)
        try sender.send(Array("hello".utf8), to: address)
        #expect(try listener.wait(timeout: 10) == .readable)
        let datagram = try #require(try listener.receive(limit: 64))
        #expect(datagram.bytes == Array("hello".utf8))
        #expect(!datagram.truncated)
        #expect(datagram.from?.host == address.host)
    }

    @Test func aLongDatagramIsCutAndSaysSo() throws {
        let listener = try UDPSocket(binding: SocketAddress(host: "127.0.0.1", port: 0))
        let sender = try UDPSocket(family: .v4)
        try sender.send([UInt8](repeating: 65, count: 1000), to: try listener.localAddress())
        #expect(try listener.wait(timeout: 10) == .readable)
        let datagram = try #require(try listener.receive(limit: 100))
        #expect(datagram.bytes.count == 100)
        #expect(datagram.truncated)
    }

    @Test func waitTimesOutAndCloseEndsIt() throws {
        let listener = try UDPSocket(binding: SocketAddress(host: "127.0.0.1", port: 0))
        #expect(try listener.wait(timeout: 0.01) == .timedOut)
        listener.close()
        #expect(try listener.wait(timeout: nil) == .closed)
    }

    @Test func aSocketOfOneFamilyRefusesAnAddressOfTheOther() throws {
        let sender = try UDPSocket(family: .v4)
        #expect(throws: Errno.addressFamilyNotSupported) {
            try sender.send([1], to: try SocketAddress(host: "::1", port: 9))
        }
    }

    @Test func anAddressInUseIsAnError() throws {
        let first = try UDPSocket(binding: SocketAddress(host: "127.0.0.1", port: 0))
        #expect(throws: Errno.addressInUse) { try UDPSocket(binding: try first.localAddress()) }
    }
}
