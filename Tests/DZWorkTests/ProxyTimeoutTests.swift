import DZSpool
import DZSystem
@testable import DZWork
import DZTestSupport
import Foundation
import Testing
#if canImport(Glibc)
@preconcurrency import Glibc
@testable import DZDeploy
#endif

/// A hung appserver behind a real nginx: a stopped (SIGSTOP) app server is passed over, and only requests that may
/// be repeated are sent to the next one.
@Suite(.serialized, .timeLimit(.minutes(5))) struct ProxyTimeoutTests {
    /// A small HTTP server on 127.0.0.1 answering GET and POST with `app=<name> method=<method>`, writing each
    /// request's method to `<log>` as it comes; `backlog` is its listen queue. Stopped and killed by the test.
    final class App {
        let name: String
        let port: Int
        let log: String
        let process = Process()

        init(_ name: String, scratch: String, backlog: Int = 16) throws {
            self.name = name
            port = try FreePort.loopback()
            log = scratch + "/" + name + ".requests"
            let script = scratch + "/app.py"
            if !FileSystem.exists(script) { try FileIO.create(script, bytes: Array(Self.script.utf8), sync: false) }
            process.executableURL = URL(fileURLWithPath: FileSystem.exists("/usr/bin/python3") ? "/usr/bin/python3"
                                                                                              : "/usr/bin/env")
            let python = process.executableURL?.path == "/usr/bin/env" ? ["python3"] : []
            process.arguments = python + [script, String(port), name, log, String(backlog)]
            process.standardInput = FileHandle.nullDevice
            try process.run()
        }

        /// The methods of the requests it received.
        var methods: [String] {
            ((try? FileIO.readAll(log)).map { String(decoding: $0, as: UTF8.self) } ?? "")
                .split(separator: "\n").map(String.init)
        }

        func stop() { kill(process.processIdentifier, SIGSTOP) }

        /// SIGKILL: the test process blocks SIGTERM, and a child inherits the mask, so terminate() would not end it.
        func end() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        static let script = """
            import http.server, socketserver, sys

            port, name, log, backlog = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])

            class App(http.server.BaseHTTPRequestHandler):
                protocol_version = "HTTP/1.1"

                def answer(self):
                    length = int(self.headers.get("Content-Length") or 0)
                    if length:
                        self.rfile.read(length)
                    with open(log, "a") as f:
                        f.write(self.command + "\\n")
                    body = ("app=%s method=%s\\n" % (name, self.command)).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

                do_GET = answer
                do_POST = answer

                def log_message(self, *args):
                    pass

            class Server(http.server.ThreadingHTTPServer):
                request_queue_size = backlog

            Server(("127.0.0.1", port), App).serve_forever()

            """
    }

    /// One request through nginx with curl: status, body, and seconds taken; curl gives up after `limit` s.
    struct Answer: CustomStringConvertible {
        var status: Int
        var body: String
        var seconds: Double
        var description: String { "HTTP \(status) in \(String(format: "%.2f", seconds)) s: \(body)" }
    }

    static func request(_ method: String, port: Int, limit: Double = 25) async throws -> Answer {
        let start = Timestamp.now()
        var argv = ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "--max-time", String(Int(limit)), "-X", method,
                    "-H", "Host: shop.test"]
        if method == "POST" { argv += ["--data", "x=1"] }
        let outcome = try await Subprocess.run(argv + ["http://127.0.0.1:\(port)/"], timeout: limit + 10)
        let text = outcome.stdoutText
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        return Answer(status: Int(lines.last ?? "") ?? 0,
                      body: lines.dropLast().joined(separator: "\n").trimmingCharacters(in: .newlines),
                      seconds: Timestamp.now() - start)
    }

    /// The site's own error log (`NginxSite` gives each site one), where nginx reports upstream timeouts.
    static func siteErrorLog(_ nginx: NginxServer) -> String {
        (try? FileIO.readAll(nginx.logsDirectory + "/dz_shop.error.log")).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    /// A real nginx with the site of project shop sending traffic to `apps` (in that order), written as
    /// `proxy_update` writes it, with `readTimeout`.
    static func withSite(_ apps: [App], readTimeout: Int? = nil, scratch: String,
                         _ body: (NginxServer) async throws -> Void) async throws
    {
        let nginx = try await NginxServer.start()
        do {
            var site = try NginxSite(project: ProjectID("shop"), bundle: "bundle_shop_1", hostnames: [Hostname("shop.test")],
                                     upstreams: try apps.map { try UpstreamServer(address: "127.0.0.1", port: $0.port) },
                                     staticDirectory: scratch + "/static", listenPort: nginx.port,
                                     listenAddress: nginx.address, logsDirectory: nginx.logsDirectory)
            if let readTimeout { site.readTimeout = readTimeout }
            try FileIO.create(nginx.sitesDirectory + "/" + site.fileName, bytes: Array(site.render().utf8), sync: false)
            let workers = nginx.workerPIDs()
            try await nginx.reload()
            try await nginx.waitForReload(replacing: workers)
            try await body(nginx)
        } catch {
            print("nginx error log:\n\(nginx.errorLog())")
            await nginx.stop()
            throw error
        }
        await nginx.stop()
    }

    static func withScratch(_ body: (String) async throws -> Void) async throws {
        let scratch = "/tmp/dz-proxy-timeout-" + UUID().uuidString
        try FileSystem.makeDirectory(scratch, mode: 0o755)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try await body(scratch)
    }

    @Test func aHungAppserverThatTakesNoConnectionCostsARequestTheConnectTimeoutNotAMinute() async throws {
        try await Self.withScratch { scratch in
            // A hung server whose listen queue is full: the kernel answers no more SYNs, as for a dead host.
            let hung = try App("hung", scratch: scratch, backlog: 1)
            let live = try App("live", scratch: scratch)
            defer {
                hung.end()
                live.end()
            }
            for app in [hung, live] {
                #expect(try await NginxServer.poll(timeout: 30) { FreePort.isListening(app.port) }, "\(app.name) did not start")
            }
            hung.stop()
            var held: [Int32] = []
            defer { for fd in held { close(fd) } }
            // Fill its queue (backlog 1 holds 2); a connection the kernel no longer takes stays in SYN_SENT.
            for _ in 0..<4 {
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
                var address = FreePort.loopbackAddress(port: hung.port)
                _ = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                held.append(fd)
            }
            try await Self.withSite([hung, live], scratch: scratch) { nginx in
                // Each request may be sent to the hung server first: it is taken by the live one after the connect
                // timeout (3 s), a POST too (it never reached the hung one). curl gives up after 25 s: nginx's
                // default connect timeout (60 s) would fail it.
                for method in ["GET", "POST", "GET", "POST"] {
                    let answer = try await Self.request(method, port: nginx.port)
                    print("\(method) with a hung upstream: \(answer)")
                    #expect(answer.status == 200, "\(method): \(answer)")
                    #expect(answer.body == "app=live method=\(method)", "\(method): \(answer)")
                }
                #expect(Self.siteErrorLog(nginx).contains("upstream timed out (110: Connection timed out) while connecting to upstream"),
                        "\(Self.siteErrorLog(nginx))")
                #expect(hung.methods.isEmpty)
            }
        }
    }

    @Test func aHungAppserverThatTookTheRequestHasGETsRetriedOnTheNextAndPOSTsNot() async throws {
        try await Self.withScratch { scratch in
            let hung = try App("hung", scratch: scratch)
            let live = try App("live", scratch: scratch)
            defer {
                hung.end()
                live.end()
            }
            for app in [hung, live] {
                #expect(try await NginxServer.poll(timeout: 30) { FreePort.isListening(app.port) }, "\(app.name) did not start")
            }
            // A read timeout of 2 s instead of 30 s, for the test's time.
            try await Self.withSite([hung, live], readTimeout: 2, scratch: scratch) { nginx in
                // Both answer, and nginx keeps connections to both.
                let warm = try await NginxServer.poll(timeout: 30) {
                    _ = try await Self.request("GET", port: nginx.port)
                    return !hung.methods.isEmpty && !live.methods.isEmpty
                }
                #expect(warm, "hung \(hung.methods), live \(live.methods)")
                hung.stop()
                let before = live.methods.count

                // POSTs in turn reach both: the one sent to the stopped server is answered 504, never repeated.
                var posts: [Answer] = []
                for _ in 0..<4 {
                    let answer = try await Self.request("POST", port: nginx.port)
                    print("POST with a stopped upstream: \(answer)")
                    posts.append(answer)
                    if answer.status == 504 { break }
                }
                #expect(posts.contains { $0.status == 504 }, "\(posts)")
                #expect(posts.allSatisfy { $0.status == 504 || $0.body == "app=live method=POST" }, "\(posts)")
                let livePOSTs = live.methods.dropFirst(before).filter { $0 == "POST" }.count
                #expect(livePOSTs == posts.filter { $0.status == 200 }.count,
                        "a POST the stopped server had taken was sent to the live one too: \(live.methods)")

                // GETs are all answered by the live server, one after the read timeout if it went to the stopped
                // one first.
                for _ in 0..<3 {
                    let answer = try await Self.request("GET", port: nginx.port)
                    print("GET with a stopped upstream: \(answer)")
                    #expect(answer.status == 200 && answer.body == "app=live method=GET", "\(answer)")
                }
                #expect(Self.siteErrorLog(nginx).contains("upstream timed out (110: Connection timed out) while reading response header"),
                        "\(Self.siteErrorLog(nginx))")
            }
        }
    }
}
