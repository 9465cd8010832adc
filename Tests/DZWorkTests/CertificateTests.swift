import DZAgent
import DZSpool
import DZSystem
@testable import DZWork
import Foundation
import DZTestSupport
import Testing
#if canImport(Glibc)
@preconcurrency import Glibc
@testable import DZDeploy
#endif

/// install_cert, obtain_cert and renew_certs: certificates checked with openssl, a CA made in the test, a real
/// nginx serving the app on its TLS port (curl --cacert), and a real ACME server (Debian's pebble, validating
/// HTTP-01 through that nginx) with lego as the client.
@Suite struct CertificateTests {
    @Test func aSiteWithACertificateRedirectsHTTPButForACMEAndServesTLS() throws {
        var site = try NginxSite(
            project: ProjectID("shop"), bundle: "bundle_shop_1", hostnames: [Hostname("shop.test"), Hostname("plain.test")],
            upstreams: [UpstreamServer(address: "127.0.0.1", port: 9000)], staticDirectory: "/srv/static/shop",
            listenPort: 8080, listenAddress: "127.0.0.1", logsDirectory: "/srv/logs")
        site.certificates = [try SiteCertificate(hostname: Hostname("shop.test"), certificatePath: "/c/shop.test/cert.pem",
                                                 keyPath: "/c/shop.test/key.pem")]
        site.tlsPort = 8443
        site.acmeWebroot = "/srv/acme/webroot"
        let text = site.render()
        #expect(text.contains("""
            server {
                listen 127.0.0.1:8080;
                server_name shop.test;
                access_log /srv/logs/dz_shop.access.log;
                error_log /srv/logs/dz_shop.error.log;

                location ^~ /.well-known/acme-challenge/ {
                    root /srv/acme/webroot;
                    default_type text/plain;
                }

                location / {
                    return 301 https://$host:8443$request_uri;
                }
            }
            """), "\(text)")
        #expect(text.contains("""
            server {
                listen 127.0.0.1:8443 ssl;
                server_name shop.test;
                ssl_certificate /c/shop.test/cert.pem;
                ssl_certificate_key /c/shop.test/key.pem;
                client_max_body_size 20m;
            """), "\(text)")
        #expect(text.contains("    listen 127.0.0.1:8080;\n    server_name plain.test;\n"), "\(text)")
        #expect(site.urls == ["https://shop.test:8443/", "http://plain.test:8080/"])
        #expect(throws: ProxyError.self) {
            try SiteCertificate(hostname: Hostname("shop.test"), certificatePath: "/c/x;y", keyPath: "/c/k")
        }
        #expect(throws: ProxyError.self) {
            try SiteCertificate(hostname: Hostname("*.shop.test"), certificatePath: "/c/c", keyPath: "/c/k")
        }
    }

    @Test func theCheckAcceptsAMatchingPairAndRefusesAWrongKeyAnotherNameAnExpiredOneAndGarbage() async throws {
        let directory = "/tmp/dz-certcheck-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ca = try await TestCA.make(in: directory)
        let good = try await ca.issue(["shop.test", "www.shop.test"], stem: "good")
        let other = try await ca.issue(["other.test"], stem: "other")
        let expired = try await ca.issue(["shop.test"], days: -1, stem: "expired")
        let garbage = directory + "/garbage.pem"
        try FileIO.create(garbage, bytes: Array("-----BEGIN CERTIFICATE-----\nnot one\n".utf8), mode: 0o600, sync: false)
        let check = CertificateCheck()
        let notAfter = try await check.check(certificate: good.certificatePath, key: good.keyPath,
                                             hostname: Hostname("www.shop.test"))
        #expect(notAfter.hasSuffix("GMT"), "\(notAfter)")
        let cases: [(String, String, String, String)] = [
            (good.certificatePath, other.keyPath, "shop.test", "their public keys differ"),
            (other.certificatePath, other.keyPath, "shop.test", "does not cover shop.test (its names: DNS:other.test"),
            (expired.certificatePath, expired.keyPath, "shop.test", "expired"),
            (garbage, good.keyPath, "shop.test", "not a PEM X.509 certificate"),
            (good.certificatePath, garbage, "shop.test", "not an unencrypted PEM private key"),
        ]
        for (certificate, key, name, why) in cases {
            let hostname = try Hostname(name)
            do throws(ProxyError) {
                try await check.check(certificate: certificate, key: key, hostname: hostname)
                Issue.record("accepted \(certificate) with \(key) for \(name)")
            } catch {
                #expect(error.description.contains(why), "\(error)")
            }
        }
        #expect(try await check.isValid(certificate: good.certificatePath, forSeconds: 3600))
        #expect(try await !check.isValid(certificate: good.certificatePath, forSeconds: 30 * 86400))
    }

    @Suite(.timeLimit(.minutes(5))) struct RealNginx {
        @Test func aGivenCertificateServesTheAppOverTLSAndHTTPRedirectsAndARedeployKeepsIt() async throws {
            let tlsPort = try FreePort.loopback()
            try await withProxyHost(configure: { $0.tlsPort = tlsPort }) { host in
                let ca = try await TestCA.make(in: host.scratch + "/ca")
                let pair = try await ca.issue(["shop.test"], stem: "shop")
                try await host.withApps(["one"]) { ports in
                    _ = try await host.update(bundle: "bundle_shop_1", hostnames: ["shop.test", "other.test"], ports: ports)
                    let workers = host.nginx.workerPIDs()
                    let output = try await InstallCertHandler(settings: host.settings)
                        .run(try proxyContext("install_cert", try arguments("shop", "shop.test", pair)))
                    try await host.nginx.waitForReload(replacing: workers)
                    #expect(output["site_updated"] == .bool(true))
                    #expect(output["urls"] == .array([.string("https://shop.test:\(tlsPort)/"),
                                                      .string("http://other.test:\(host.nginx.port)/")]))

                    let page = try await curl(["--cacert", ca.certificatePath, "--resolve",
                                               "shop.test:\(tlsPort):127.0.0.1", "https://shop.test:\(tlsPort)/x?y=1"])
                    #expect(page.hasPrefix("app=one host=shop.test "), "\(page)")
                    #expect(page.contains(" proto=https "), "\(page)")
                    #expect(page.contains(" path=/x?y=1"), "\(page)")

                    let redirect = try await host.nginx.get("/x?y=1", host: "shop.test")
                    #expect(redirect.status == 301, "\(redirect)")
                    #expect(redirect.headers["location"] == "https://shop.test:\(tlsPort)/x?y=1", "\(redirect)")
                    let plain = try await host.nginx.get("/", host: "other.test")
                    #expect(plain.body.hasPrefix("app=one host=other.test "), "\(plain)")

                    // ACME's answers are served over HTTP, not redirected.
                    let challenges = host.settings.acmeWebroot + "/.well-known/acme-challenge"
                    try FileSystem.makeDirectories(challenges, mode: 0o755)
                    try FileIO.create(challenges + "/token-1", bytes: Array("token-1.thumbprint".utf8), mode: 0o644,
                                      sync: false)
                    let answer = try await host.nginx.get("/.well-known/acme-challenge/token-1", host: "shop.test")
                    #expect(answer.status == 200 && answer.body == "token-1.thumbprint", "\(answer)")

                    // The key is the proxy's alone.
                    let live = host.settings.certificatesDirectory + "/shop/shop.test"
                    #expect(try mode(live + "/key.pem") == 0o600)
                    #expect(try mode(live + "/cert.pem") == 0o600)
                    #expect(try mode(live) == 0o700)
                    #expect(try FileIO.readAll(live + "/key.pem") == FileIO.readAll(pair.keyPath))

                    // A redeploy renders the site with the certificate again.
                    _ = try await host.update(bundle: "bundle_shop_2", hostnames: ["shop.test", "other.test"], ports: ports)
                    let again = try await curl(["--cacert", ca.certificatePath, "--resolve",
                                                "shop.test:\(tlsPort):127.0.0.1", "https://shop.test:\(tlsPort)/"])
                    #expect(again.hasPrefix("app=one host=shop.test "), "\(again)")
                }
            }
        }

        @Test func aWrongKeyAnotherNamesOrAnExpiredCertificateIsRefusedAndNothingChanges() async throws {
            let tlsPort = try FreePort.loopback()
            try await withProxyHost(configure: { $0.tlsPort = tlsPort }) { host in
                let ca = try await TestCA.make(in: host.scratch + "/ca")
                let good = try await ca.issue(["shop.test"], stem: "good")
                let other = try await ca.issue(["other.test"], stem: "other")
                let expired = try await ca.issue(["shop.test"], days: -1, stem: "expired")
                let garbage = host.scratch + "/ca/garbage.pem"
                try FileIO.create(garbage, bytes: Array("-----BEGIN CERTIFICATE-----\nnot one\n".utf8), mode: 0o600,
                                  sync: false)
                try await host.withApps(["one"]) { ports in
                    _ = try await host.update(bundle: "bundle_shop_1", hostnames: ["shop.test"], ports: ports)
                    let site = host.nginx.sitesDirectory + "/dz_shop.conf"
                    let before = try FileIO.readAll(site)
                    let wrongKey = TestCA.Issued(certificatePath: good.certificatePath, keyPath: other.keyPath)
                    let notACertificate = TestCA.Issued(certificatePath: garbage, keyPath: good.keyPath)
                    let handler = InstallCertHandler(settings: host.settings)
                    for (pair, why) in [(wrongKey, "public keys differ"), (other, "does not cover shop.test"),
                                        (expired, "expired"), (notACertificate, "not a PEM X.509 certificate")]
                    {
                        let failure = await failureOf(handler, try arguments("shop", "shop.test", pair))
                        #expect(failure?.kind == "certificate", "\(why): \(String(describing: failure))")
                        #expect(failure?.retryable == false)
                        #expect(failure?.message.contains(why) == true, "\(String(describing: failure))")
                        #expect(failure?.message.contains("PRIVATE KEY") == false)
                    }
                    // A certificate for a name the app does not have is refused too.
                    let foreign = await failureOf(handler, try arguments("shop", "other.test", other))
                    #expect(foreign?.kind == "bad-args", "\(String(describing: foreign))")

                    #expect(try FileIO.readAll(site) == before)
                    let projectCerts = host.settings.certificatesDirectory + "/shop"
                    #expect(((try? FileSystem.names(in: projectCerts)) ?? []).isEmpty)
                    #expect(!FreePort.isListening(tlsPort))
                    let reply = try await host.nginx.get("/", host: "shop.test")
                    #expect(reply.status == 200 && reply.body.hasPrefix("app=one"), "\(reply)")
                }
            }
        }
    }
}

/// The arguments of an `install_cert` of `pair` for `hostname` of `project`.
func arguments(_ project: String, _ hostname: String, _ pair: TestCA.Issued) throws -> [String: JSONValue] {
    ["project": .string(project), "hostname": .string(hostname),
     "certificate": .string(String(decoding: try FileIO.readAll(pair.certificatePath), as: UTF8.self)),
     "private_key": .string(String(decoding: try FileIO.readAll(pair.keyPath), as: UTF8.self))]
}

/// How `handler` fails with `args`, or nil when it succeeds.
func failureOf(_ handler: some TaskHandler, _ args: [String: JSONValue]) async -> TaskFailure? {
    do {
        _ = try await handler.run(try proxyContext(handler.name, args))
        return nil
    } catch let failure as TaskFailure {
        return failure
    } catch {
        return TaskFailure(kind: "unexpected", message: "\(type(of: error)): \(error)", retryable: false)
    }
}

/// The permission bits of `path`.
private func mode(_ path: String) throws -> UInt32 {
    try FileSystem.linkStatus(path).permissions
}

/// curl's output (it must succeed: `--fail`), with a time limit.
func curl(_ arguments: [String]) async throws -> String {
    let outcome = try await Subprocess.run(["curl", "--silent", "--show-error", "--fail", "--max-time", "20"] + arguments,
                                           timeout: 60)
    guard outcome.succeeded else { throw NginxServer.Failure.failed("curl \(arguments.last ?? ""): \(outcome.tail())") }
    return outcome.stdoutText
}

extension CertificateTests.RealNginx {
    @Test func acmeObtainsACertificateFromPebbleThroughNginxAndRenewsIt() async throws {
        let tlsPort = try FreePort.loopback()
        var pebbleCA: TestCA?
        try await withProxyHost(configure: { $0.tlsPort = tlsPort }) { host in
            let ca = try await TestCA.make(in: host.scratch + "/ca")
            pebbleCA = ca
            try await PebbleServer.with(httpPort: host.nginx.port, ca: ca, in: host.scratch) { pebble in
                var settings = host.settings
                settings.acmeServer = pebble.directoryURL
                settings.acmeCAFile = ca.certificatePath
                settings.acmeEmail = "ops@shop.test"
                try await host.withApps(["one"]) { ports in
                    _ = try await host.update(bundle: "bundle_shop_1", hostnames: ["shop.test", "www.shop.test",
                                                                                    "*.shop.test"], ports: ports)
                    let workers = host.nginx.workerPIDs()
                    let output = try await ObtainCertHandler(settings: settings)
                        .run(try proxyContext("obtain_cert", ["project": .string("shop")]))
                    try await host.nginx.waitForReload(replacing: workers)
                    #expect(output["acme"] == .bool(true))
                    #expect(output["hostnames"] == .array([.string("shop.test"), .string("www.shop.test")]))
                    #expect(output["site_updated"] == .bool(true))

                    // pebble really fetched its HTTP-01 tokens through this nginx.
                    let access = String(decoding: try FileIO.readAll(host.nginx.logsDirectory + "/dz_shop.access.log"),
                                        as: UTF8.self)
                    #expect(access.contains("GET /.well-known/acme-challenge/"), "\(access.suffix(2000))")
                    #expect(access.contains("Pebble"), "\(access.suffix(2000))")

                    let root = host.scratch + "/pebble-root.pem"
                    try await pebble.issuingRoot(to: root)
                    for name in ["shop.test", "www.shop.test"] {
                        let page = try await curl(["--cacert", root, "--resolve", "\(name):\(tlsPort):127.0.0.1",
                                                   "https://\(name):\(tlsPort)/"])
                        #expect(page.hasPrefix("app=one host=\(name) "), "\(page)")
                    }
                    let redirect = try await host.nginx.get("/", host: "shop.test")
                    #expect(redirect.status == 301, "\(redirect)")

                    // Nothing is due within a day; everything is within ten years: renewed, and served.
                    let live = settings.certificatesDirectory + "/shop/shop.test/cert.pem"
                    let first = try FileIO.readAll(live)
                    let idle = try await RenewCertsHandler(settings: settings)
                        .run(try proxyContext("renew_certs", ["days": .int(1)]))
                    #expect(idle["checked"] == .int(2) && idle["renewed"] == .array([]), "\(idle)")
                    #expect(try FileIO.readAll(live) == first)
                    let before = host.nginx.workerPIDs()
                    let renewal = try await RenewCertsHandler(settings: settings)
                        .run(try proxyContext("renew_certs", ["days": .int(3650)]))
                    try await host.nginx.waitForReload(replacing: before)
                    #expect(renewal["renewed"] == .array([.string("shop/shop.test"), .string("shop/www.shop.test")]),
                            "\(renewal)")
                    #expect(try FileIO.readAll(live) != first)
                    let renewed = try await curl(["--cacert", root, "--resolve", "shop.test:\(tlsPort):127.0.0.1",
                                                  "https://shop.test:\(tlsPort)/"])
                    #expect(renewed.hasPrefix("app=one host=shop.test "), "\(renewed)")
                }
            }
        }
        _ = pebbleCA
    }
}
