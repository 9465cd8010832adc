import DZSystem
import Foundation
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A real nginx for tests: its own prefix in a temporary directory, listening on a free port of 127.0.0.1 only,
/// removed by `stop()`. Sites must listen on `address:port` (see `address`).
///
/// Layout of the prefix (mode 0755, so that the worker user can enter it): `nginx.conf`, `nginx.pid`, `sites/`
/// (included as `sites/*.conf`), `logs/` (`error.log`, `access.log`) and `tmp/` (every `*_temp_path`). The
/// configuration has a `default_server` on the port that answers 404 with `defaultBody` to any host name no site
/// serves. As root, the workers run as `www-data` (nginx's Debian user), so that file permissions are tested for
/// real. nginx runs as a daemon (its own session and process group); `stop()` ends it with `nginx -s stop`, then
/// SIGKILL to the group if it is still there. Missing nginx is a failure (with what to install), never a skip.
public struct NginxServer: Sendable {
    public enum Failure: Error, CustomStringConvertible {
        case notInstalled(String)
        case failed(String)

        public var description: String {
            switch self {
            case .notInstalled(let what): "nginx is not installed (\(what)): apt-get install -y nginx"
            case .failed(let why): "test nginx: \(why)"
            }
        }
    }

    /// An HTTP response as the tests look at it.
    public struct Reply: Sendable, CustomStringConvertible {
        public var status: Int
        /// Header names lower-cased.
        public var headers: [String: String]
        public var body: String

        public var description: String { "HTTP \(status): \(body.prefix(300))" }
    }

    /// What the default server answers (with status 404) to a host name no site serves.
    public static let defaultBody = "no site for this host\n"

    /// The nginx program.
    public let nginx: String
    /// The prefix directory (`-p`), without a trailing slash.
    public let prefix: String
    /// The port every server of this nginx listens on, on `address`.
    public let port: Int
    /// The only address this nginx listens on. Sites must listen on `address:port` too (dz: `--proxy-address
    /// 127.0.0.1` or `DZ_PROXY_ADDRESS`): nginx picks among the servers of the most specific matching `listen`, so a
    /// site with a bare `listen PORT` would never see a request that arrives at 127.0.0.1.
    public var address: String = "127.0.0.1"
    /// What runs nginx's commands: nothing, or `ip netns exec <ns>` for a cluster's host.
    public var launcher: [String] = []

    public var confPath: String { prefix + "/nginx.conf" }
    public var sitesDirectory: String { prefix + "/sites" }
    public var logsDirectory: String { prefix + "/logs" }
    public var pidPath: String { prefix + "/nginx.pid" }

    /// `nginx -p PREFIX -c CONF` followed by `arguments`.
    public func command(_ arguments: [String]) -> [String] {
        launcher + [nginx, "-p", prefix, "-c", confPath] + arguments
    }

    /// Makes a prefix and starts nginx in it; a port taken between choosing and binding it gets another try.
    ///
    /// On a `Cluster`'s host: `address` is the host's and `launcher` runs nginx in its namespace.
    public static func start(address: String = "127.0.0.1", launcher: [String] = []) async throws -> NginxServer {
        let nginx = try findNginx()
        let prefix = "/tmp/dz-nginx-" + UUID().uuidString
        do {
            for directory in [prefix, prefix + "/sites", prefix + "/logs", prefix + "/tmp"] {
                try FileSystem.makeDirectory(directory, mode: 0o755)
                try FileSystem.setMode(directory, 0o755)
            }
            var lastError = ""
            for _ in 0..<3 {
                let server = NginxServer(nginx: nginx, prefix: prefix, port: try FreePort.loopback(), address: address,
                                         launcher: launcher)
                try? FileSystem.unlink(server.confPath)
                try FileIO.create(server.confPath, bytes: Array(server.configuration().utf8), mode: 0o644, sync: false)
                let outcome = try await Subprocess.run(server.command([]), timeout: 60)
                guard outcome.succeeded else {
                    lastError = "\(outcome.ending): \(outcome.tail(10))"
                    if outcome.stderrText.contains("Address already in use") { continue }
                    throw Failure.failed("nginx did not start: \(lastError)")
                }
                guard try await poll(timeout: 20, { server.masterPID() != nil && FreePort.isListening(server.port, address: address) }) else {
                    await server.stop()
                    throw Failure.failed("nginx started but does not listen on 127.0.0.1:\(server.port)")
                }
                return server
            }
            throw Failure.failed("no free port: \(lastError)")
        } catch {
            let log = (try? FileIO.readAll(prefix + "/logs/error.log")).map { String(decoding: $0.suffix(2000), as: UTF8.self) }
            _ = try? await Subprocess.run(["rm", "-rf", "--", prefix], timeout: 60)
            if let log, !log.isEmpty { throw Failure.failed("\(error)\nerror log:\n\(log)") }
            throw error
        }
    }

    /// Stops nginx (SIGTERM to the master, as `nginx -s stop` does without reading the configuration, which a test
    /// may have broken; SIGKILL to its whole process group if it is still there after 10 s) and removes the prefix.
    public func stop() async {
        if let pid = masterPID() {
            _ = kill(pid, SIGTERM)
            let ended = (try? await Self.poll(timeout: 10, { kill(pid, 0) != 0 })) ?? false
            if !ended { _ = kill(-pid, SIGKILL) }
        }
        _ = try? await Subprocess.run(["rm", "-rf", "--", prefix], timeout: 60)
    }

    /// Runs `nginx -s reload` and requires it to succeed.
    public func reload() async throws {
        let outcome = try await Subprocess.run(command(["-s", "reload"]), timeout: 30)
        guard outcome.succeeded else { throw Failure.failed("nginx -s reload: \(outcome.tail())") }
    }

    /// The master's pid, from the pid file, while that process exists.
    public func masterPID() -> pid_t? {
        guard case .contents(let bytes, _)? = try? FileIO.read(pidPath, limit: 64),
              let pid = pid_t(String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)),
              pid > 0, kill(pid, 0) == 0
        else { return nil }
        return pid
    }

    /// The pids of the master's worker processes now: its children, found in `/proc`.
    public func workerPIDs() -> Set<pid_t> {
        guard let master = masterPID(), let names = try? FileSystem.names(in: "/proc") else { return [] }
        var workers = Set<pid_t>()
        for name in names {
            guard let pid = pid_t(name),
                  case .contents(let bytes, _)? = try? FileIO.read("/proc/\(name)/stat", limit: 4096)
            else { continue }
            // "pid (comm) state ppid ...": the command may hold spaces and parentheses, so read after the last ')'.
            let text = String(decoding: bytes, as: UTF8.self)
            guard let close = text.lastIndex(of: ")") else { continue }
            let fields = text[text.index(after: close)...].split(separator: " ")
            if fields.count > 1, pid_t(fields[1]) == master { workers.insert(pid) }
        }
        return workers
    }

    /// Waits until a reload has taken effect everywhere: every worker of `before` has exited (an old worker still
    /// accepts connections for a moment after the new ones start) and a new one runs.
    public func waitForReload(replacing before: Set<pid_t>, timeout: Double = 20) async throws {
        var now: Set<pid_t> = []
        let reloaded = try await Self.poll(timeout: timeout) {
            now = workerPIDs()
            return !now.isEmpty && now.isDisjoint(with: before)
        }
        guard reloaded else {
            throw Failure.failed("the workers \(before.sorted()) were not replaced (now \(now.sorted()))")
        }
    }

    /// The end of nginx's error log, for failure messages.
    public func errorLog(_ bytes: Int = 4000) -> String {
        (try? FileIO.readAll(logsDirectory + "/error.log")).map { String(decoding: $0.suffix(bytes), as: UTF8.self) }
            ?? ""
    }

    /// `GET path` with `Host: host` over HTTP/1.0 to this nginx, on a thread of its own.
    public func get(_ path: String, host: String, timeout: Double = 10) async throws -> Reply {
        try await Self.get(path, host: host, port: port, address: address, timeout: timeout)
    }

    /// `GET path` with `Host: host` over HTTP/1.0 (a connection of its own) to 127.0.0.1:`port`: nginx, or an
    /// app's instance directly.
    public static func get(_ path: String, host: String, port: Int, address: String = "127.0.0.1", timeout: Double = 10)
        async throws -> Reply
    {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result {
                    try Self.request(path, host: host, port: port, address: address, timeout: timeout)
                })
            }
        }
    }

    /// Calls `condition` every 50 ms until it is true (returns true) or `timeout` seconds pass (returns false).
    public static func poll(timeout: Double, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int64(timeout * 1000)))
        while true {
            if try await condition() { return true }
            if ContinuousClock.now >= deadline { return false }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    private static func findNginx() throws -> String {
        for candidate in ["nginx", "/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"] {
            if let found = Subprocess.locate(candidate) { return found }
        }
        throw Failure.notInstalled("no nginx on PATH or in /usr/sbin")
    }

    private func configuration() -> String {
        var user = ""
        if getuid() == 0 { user = getpwnam("www-data") != nil ? "user www-data;" : "user nobody nogroup;" }
        return """
            # A throw-away nginx of the dz tests (NginxServer).
            \(user)
            worker_processes 1;
            pid \(pidPath);
            error_log \(logsDirectory)/error.log info;
            events { worker_connections 256; }
            http {
                access_log \(logsDirectory)/access.log;
                client_body_temp_path \(prefix)/tmp/client_body;
                proxy_temp_path \(prefix)/tmp/proxy;
                fastcgi_temp_path \(prefix)/tmp/fastcgi;
                uwsgi_temp_path \(prefix)/tmp/uwsgi;
                scgi_temp_path \(prefix)/tmp/scgi;
                types {
                    text/html html;
                    text/css css;
                    application/javascript js;
                    text/plain txt;
                    image/png png;
                }
                default_type application/octet-stream;
                server_names_hash_bucket_size 128;
                server {
                    listen \(address):\(port) default_server;
                    server_name _;
                    default_type text/plain;
                    return 404 "\(Self.defaultBody.replacingOccurrences(of: "\n", with: "\\n"))";
                }
                include \(sitesDirectory)/*.conf;
            }

            """
    }

    /// One blocking HTTP/1.0 exchange, with `timeout` on each send and receive.
    private static func request(_ path: String, host: String, port: Int, address: String, timeout: Double) throws
        -> Reply
    {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure.failed("socket: \(Errno(rawValue: errno))") }
        defer { close(fd) }
        var limit = timeval(tv_sec: Int(timeout), tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var socketAddress = FreePort.loopbackAddress(port: port)
        socketAddress.sin_addr.s_addr = inet_addr(address)
        let connected = withUnsafePointer(to: &socketAddress) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        guard connected else { throw Failure.failed("connect \(address):\(port): \(Errno(rawValue: errno))") }
        let request = Array("GET \(path) HTTP/1.0\r\nHost: \(host)\r\nUser-Agent: dz-tests\r\n\r\n".utf8)
        var sent = 0
        while sent < request.count {
            let count = request.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { throw Failure.failed("send: \(Errno(rawValue: errno))") }
            sent += count
        }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if count > 0 {
                response += buffer[0..<count]
            } else if count == 0 {
                break
            } else if errno != EINTR {
                throw Failure.failed("recv: \(Errno(rawValue: errno))")
            }
        }
        let text = String(decoding: response, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { throw Failure.failed("not an HTTP response: \(text.prefix(200))") }
        let head = text[..<split.lowerBound].split(separator: "\r\n")
        let statusLine = head.first?.split(separator: " ") ?? []
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
            throw Failure.failed("no status line: \(text.prefix(200))")
        }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Reply(status: status, headers: headers, body: String(text[split.upperBound...]))
    }
}
