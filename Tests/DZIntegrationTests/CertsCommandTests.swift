import DZSpool
import DZSystem
import DZTestSupport
import Foundation
import Testing

extension Integration {
    /// `dz certs add` end to end: the real `dz` sends the pair through the spool to a real proxy agent driving a
    /// real nginx, which then serves the app over TLS (curl --cacert, a CA made in the test); the key is read from
    /// standard input and left nowhere in the spool; a certificate for another name is refused with exit 1.
    @Suite struct CertsCommandTests {
        @Test(.timeLimit(.minutes(4)))
        func certsAddServesTheSiteOverTLSAndLeavesTheKeyNowhereInTheSpool() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let nginx = try await NginxServer.start()
            defer { Task { await nginx.stop() } }
            let tlsPort = try FreePort.loopback()
            let ca = try await TestCA.make(in: spool.directory + "/ca")
            let good = try await ca.issue(["shop.test"], stem: "good")
            let other = try await ca.issue(["other.test"], stem: "other")

            // The app: a static page served by Python on loopback.
            let site = spool.directory + "/site"
            try FileSystem.makeDirectories(site, mode: 0o755)
            try FileIO.create(site + "/index.html", bytes: Array("hello over tls\n".utf8), mode: 0o644, sync: false)
            let appPort = try FreePort.loopback()
            let app = try DZProcess(label: "app", arguments: ["-m", "http.server", "--bind", "127.0.0.1", String(appPort),
                                                              "--directory", site],
                                    logDirectory: spool.logDirectory, executable: "/usr/bin/python3")
            defer { app.kill() }

            _ = try await spool.startAgent(host: "frontend", queues: "proxy", [
                "--rescan", "500ms", "--no-fsync", "--data-dir", spool.directory + "/proxy-data",
                "--bundle-store", "file://" + spool.directory + "/bundles", "--nginx-prefix", nginx.prefix,
                "--nginx-conf", nginx.confPath, "--proxy-port", String(nginx.port), "--proxy-address", "127.0.0.1",
                "--proxy-tls-port", String(tlsPort),
            ])
            let args = #"{"project": "shop", "bundle": "bundle_shop_1", "hostnames": ["shop.test"], "#
                + #""upstreams": [{"address": "127.0.0.1", "port": \#(appPort)}]}"#
            let update = try await spool.send("proxy_update", "--queue", "proxy", "--args-json", args)
            let updated = await waitUntil(timeout: 60) { spool.isSettled(update, queue: "proxy") }
            try #require(updated, "proxy_update did not finish")
            let result = try spool.result(update)
            try #require(result?.status == .ok, "\(String(describing: result))")

            let key = try FileIO.readAll(good.keyPath)
            let added = try await spool.dz(["certs", "add", "--project", "shop", "--hostname", "shop.test",
                                            "--cert", good.certificatePath, "--key", "-", "--timeout", "60s"],
                                           stdin: key, timeout: 90)
            #expect(added.status == 0, "\(added)")
            #expect(added.stdout.contains("https://shop.test:\(tlsPort)/"), "\(added)")

            let page = try await spool.tool("/usr/bin/curl", [
                "--silent", "--show-error", "--fail", "--max-time", "20", "--cacert", ca.certificatePath,
                "--resolve", "shop.test:\(tlsPort):127.0.0.1", "https://shop.test:\(tlsPort)/",
            ])
            #expect(page.status == 0 && page.stdout == "hello over tls\n", "\(page)\n\(nginx.errorLog())")
            let redirect = try await nginx.get("/", host: "shop.test")
            #expect(redirect.status == 301, "\(redirect)")

            let refused = try await spool.dz(["certs", "add", "--project", "shop", "--hostname", "shop.test",
                                              "--cert", other.certificatePath, "--key", other.keyPath,
                                              "--timeout", "60s"], timeout: 90)
            #expect(refused.status == 1, "\(refused)")
            #expect(refused.stderr.contains("does not cover shop.test"), "\(refused)")

            // The key is in no file of the spool: the task files were rewritten without it, the audit log masks it.
            let keyText = String(decoding: key, as: UTF8.self)
            let body = keyText.split(separator: "\n").dropFirst().first.map(String.init) ?? keyText
            let grep = try await spool.tool("/usr/bin/grep", ["-rlF", "--", body, spool.root])
            #expect(grep.status == 1, "the key is still in \(grep.stdout)")
            // The refused one ended in failed/, the other in done/.
            let ended = ["done", "failed"].flatMap { stage in
                spool.dayFiles("proxy", stage).filter { $0.hasSuffix(".json") }.map { spool.path("proxy", stage) + "/" + $0 }
            }
            let scrubbed = try ended.map { try spool.task(at: $0) }.filter { $0.task == "install_cert" }
            #expect(scrubbed.count == 2 && scrubbed.allSatisfy { $0.args["private_key"] == .string("***") },
                    "\(scrubbed.map(\.args))")
        }
    }
}
