import DZBundle
import DZSystem

/// One health check of an instance: `GET <path> HTTP/1.0` to `address:port` with the app's host name in `Host:`
/// (Django answers 400 to a name it does not serve). Healthy means any HTTP response below 500: the app is up,
/// its settings load, and it answers for that name.
package struct HealthProbe: Sendable {
    let address: String
    let port: Int
    let host: String
    let path: String

    package init(address: String, port: Int, host: String, path: String) {
        self.address = address
        self.port = port
        self.host = host
        self.path = path
    }

    /// What a check waits for.
    package enum Requirement: Sendable {
        /// An HTTP status below 500.
        case healthy
        /// Any HTTP response.
        case answering
    }

    enum Result: Sendable, Equatable {
        case status(Int)
        /// A redirect (3xx) that leaves the site (see `HealthRedirect`): the status, where to, and why not healthy.
        case redirect(Int, location: String, problem: String)
        /// No HTTP response: why (connection refused, timed out, not HTTP).
        case noResponse(String)

        var isHealthy: Bool {
            if case .status(let code) = self { return code < 500 }
            return false
        }

        func meets(_ requirement: Requirement) -> Bool {
            switch (self, requirement) {
            case (.status(let code), .healthy): code < 500
            case (.status, .answering), (.redirect, .answering): true
            case (.redirect, .healthy): false
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
                // The status line and the headers (a redirect's Location), as far as 8 KiB.
                let head = try socket.receive(limit: 8192) { bytes in
                    bytes.count >= 4 && bytes.indices.dropFirst(3).contains { bytes[$0 - 3] == 13 && bytes[$0 - 2] == 10
                        && bytes[$0 - 1] == 13 && bytes[$0] == 10 }
                }
                return Self.parseStatus(head, host: host)
            } catch {
                return .noResponse("\(error)")
            }
        }
        return result ?? .noResponse("cannot make a socket for \(address)")
    }

    /// The status code of `HTTP/1.x NNN ...`; a redirect that leaves the site `host` is `.redirect`.
    static func parseStatus(_ bytes: [UInt8], host: String = "") -> Result {
        let line = String(decoding: bytes.prefix { $0 != 10 && $0 != 13 }, as: UTF8.self)
        let parts = line.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/"), parts[1].count == 3, let code = Int(parts[1]) else {
            return .noResponse(bytes.isEmpty ? "the connection closed without a response" : "not an HTTP response")
        }
        if (300...399).contains(code) {
            let headers = String(decoding: bytes, as: UTF8.self).split(separator: "\r\n").dropFirst()
            if let header = headers.first(where: { $0.lowercased().hasPrefix("location:") }) {
                let location = String(header.dropFirst("location:".count)).trimmingCharacters(in: .whitespaces)
                if let problem = HealthRedirect.problem(location: location, host: host) {
                    return .redirect(code, location: String(location.prefix(200)), problem: problem)
                }
            }
        }
        return .status(code)
    }
}
