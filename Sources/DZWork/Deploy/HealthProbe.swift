import DZSystem

/// One health check of an instance: `GET <path> HTTP/1.0` to `address:port` with the app's host name in `Host:`
/// (Django answers 400 to a name it does not serve). Healthy means any HTTP response below 500: the app is up,
/// its settings load, and it answers for that name.
struct HealthProbe: Sendable {
    let address: String
    let port: Int
    let host: String
    let path: String

    /// What a check waits for.
    enum Requirement: Sendable {
        /// An HTTP status below 500.
        case healthy
        /// Any HTTP response.
        case answering
    }

    enum Result: Sendable, Equatable {
        case status(Int)
        /// No HTTP response: why (connection refused, timed out, not HTTP).
        case noResponse(String)

        var isHealthy: Bool {
            if case .status(let code) = self { return code < 500 }
            return false
        }

        func meets(_ requirement: Requirement) -> Bool {
            switch (self, requirement) {
            case (.status(let code), .healthy): code < 500
            case (.status, .answering): true
            case (.noResponse, _): false
            }
        }
    }

    /// One request, each step within `timeout` seconds, on a thread of its own.
    func probe(timeout: Double = 5) async -> Result {
        let request = "GET \(path) HTTP/1.0\r\nHost: \(host)\r\nUser-Agent: dz-health-check\r\n"
            + "Connection: close\r\n\r\n"
        let result = try? await BlockingCall.run { [address, port] () throws(Errno) -> Result in
            let socket = try TCPSocket(address: address, port: port)
            do {
                try socket.connect(timeout: timeout)
                try socket.send(Array(request.utf8))
                let head = try socket.receive(limit: 4096) { $0.contains(10) }
                return Self.parseStatus(head)
            } catch {
                return .noResponse("\(error)")
            }
        }
        return result ?? .noResponse("cannot make a socket for \(address)")
    }

    /// The status code of `HTTP/1.x NNN ...`.
    static func parseStatus(_ bytes: [UInt8]) -> Result {
        let line = String(decoding: bytes.prefix { $0 != 10 && $0 != 13 }, as: UTF8.self)
        let parts = line.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), parts[1].count == 3, let code = Int(parts[1]) else {
            return .noResponse(bytes.isEmpty ? "the connection closed without a response" : "not an HTTP response")
        }
        return .status(code)
    }
}
