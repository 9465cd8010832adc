import DZAgent
import DZSpool
import DZSystem
@testable import DZWork
import Foundation
import Logging
import DZTestSupport
import Testing
#if canImport(Glibc)
@preconcurrency import Glibc
@testable import DZBuild
@testable import DZBundle
@testable import DZDeploy
#endif

/// proxy_update and remove_proxy_conf: the site renderer and its checks, the settings, and a real nginx
/// (`NginxServer`) in front of real app servers (small Python echo servers), with static files from real bundles.
@Suite struct ProxyTests {
    // MARK: The site file

    @Test func siteIsRenderedWithUpstreamsNamesLogsAndProxyHeaders() throws {
        let site = try NginxSite(
            project: ProjectID("shop"), bundle: "bundle_shop_2026-01-02-03.04.05",
            hostnames: [Hostname("shop.example.com"), Hostname("*.shop.example.com")],
            upstreams: [UpstreamServer(address: "10.0.0.5", port: 10001), UpstreamServer(address: "::1", port: 10002),
                        UpstreamServer(address: "app-3.internal", port: 10003)],
            staticMappings: [StaticMapping(url: "/static/", path: "static/")],
            staticDirectory: "/var/lib/dz/static/shop/bundle_shop_2026-01-02-03.04.05",
            clientMaxBodySize: BodySizeLimit("50M"), listenPort: 8080, logsDirectory: "/var/log/nginx")
        #expect(site.render() == """
            # dz_shop.conf: written by dz (proxy_update) for project shop, bundle bundle_shop_2026-01-02-03.04.05.
            # Do not edit: the next proxy_update of shop replaces this file and remove_proxy_conf removes it.

            upstream dz_shop {
                server 10.0.0.5:10001 max_fails=2 fail_timeout=10s;
                server [::1]:10002 max_fails=2 fail_timeout=10s;
                server app-3.internal:10003 max_fails=2 fail_timeout=10s;
                keepalive 16;
            }

            server {
                listen 8080;
                server_name shop.example.com *.shop.example.com;
                client_max_body_size 50m;
                access_log /var/log/nginx/dz_shop.access.log;
                error_log /var/log/nginx/dz_shop.error.log;

                location ^~ /static/ {
                    alias /var/lib/dz/static/shop/bundle_shop_2026-01-02-03.04.05/static/;
                }

                location / {
                    proxy_pass http://dz_shop;
                    proxy_http_version 1.1;
                    proxy_set_header Connection "";
                    proxy_set_header Host $host;
                    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
                    proxy_set_header X-Forwarded-Proto $scheme;
                    proxy_set_header X-Real-IP $remote_addr;
                    proxy_connect_timeout 3s;
                    proxy_read_timeout 30s;
                    proxy_next_upstream error timeout http_502 http_503;
                }
            }

            """)
        #expect(site.fileName == "dz_shop.conf")
        #expect(site.urls == ["http://shop.example.com:8080/"])
    }

    @Test func everyStaticMappingGetsItsOwnAliasAndTheListenAddressIsUsed() throws {
        let site = try NginxSite(
            project: ProjectID("blog"), bundle: "bundle_blog_1", hostnames: [Hostname("blog.test")],
            upstreams: [UpstreamServer(address: "127.0.0.1", port: 9000)],
            staticMappings: [StaticMapping(url: "/static/", path: "collected"),
                             StaticMapping(url: "/media/app-v2/", path: "public/media_files")],
            staticDirectory: "/srv/static/blog/bundle_blog_1", listenPort: 80, listenAddress: "::1",
            logsDirectory: "/srv/logs")
        let text = site.render()
        #expect(text.contains("    location ^~ /static/ {\n        alias /srv/static/blog/bundle_blog_1/collected/;\n    }"))
        #expect(text.contains("    location ^~ /media/app-v2/ {\n        alias /srv/static/blog/bundle_blog_1/public/media_files/;\n"))
        #expect(text.contains("    listen [::1]:80;\n"))
        #expect(text.contains("    client_max_body_size 20m;\n"))
        #expect(site.urls == ["http://blog.test/"])
    }

    @Test func hostileValuesAreRefusedByEachType() {
        for name in ["a;b", "x} server {", "a b", "$host", "\"q\"", "'q'", "a\nb", "*.*.a.com", "a.*.com", "", "a..b"] {
            #expect(throws: BadInput.self, "\(name)") { try Hostname(name) }
        }
        for address in ["127.0.0.1;", "1.2.3.4 backup", "$host", "x} server {", "../", "fe80::1%eth0", "*.a.com",
                        "unix:/tmp/s", "1.2.3.4:80", "\"a\""]
        {
            #expect(throws: ProxyError.self, "\(address)") { try UpstreamServer(address: address, port: 80) }
        }
        for port in [0, -1, 65536, 100_000] {
            #expect(throws: ProxyError.self, "\(port)") { try UpstreamServer(address: "127.0.0.1", port: port) }
        }
        for url in ["../", "/", "static/", "/static", "/st atic/", "/$x/", "/\"/", "/static/;", "/a/../b/", "/a//b/",
                    "/./", "/a{/", "/#/", "/a\\b/"]
        {
            #expect(throws: ProxyError.self, "\(url)") { try StaticMapping(url: url, path: "static") }
        }
        for path in ["../etc", "/etc", "a/../../b", "st;atic", "static dir", "$x", ".", "", "\"s\"", "a/./b", "//",
                     "static}", "a\\b"]
        {
            #expect(throws: ProxyError.self, "\(path)") { try StaticMapping(url: "/static/", path: path) }
        }
        for size in ["10m;", "1 g", "$x", "10mb", "", "-1", "m", "1t", "12345678901234"] {
            #expect(throws: ProxyError.self, "\(size)") { try BodySizeLimit(size) }
        }
        #expect(throws: ProxyError.self) {
            try NginxSite(project: ProjectID("shop"), bundle: "bundle_shop_1", hostnames: [Hostname("a.test")],
                          upstreams: [UpstreamServer(address: "127.0.0.1", port: 1)],
                          staticDirectory: "/srv/static dir", logsDirectory: "/var/log")
        }
        #expect(throws: ProxyError.self) {
            try NginxSite(project: ProjectID("shop"), bundle: "bundle_shop_1", hostnames: [Hostname("a.test")],
                          upstreams: [UpstreamServer(address: "127.0.0.1", port: 1)],
                          staticDirectory: "/srv/static", logsDirectory: "/var/log;include")
        }
    }

    @Test(arguments: HostileArgument.all)
    func hostileArgumentFailsAsBadArgsBeforeAnythingHappens(_ hostile: HostileArgument) async throws {
        try await withScratch { scratch in
            let settings = ProxySettings(workspace: Workspace(root: scratch + "/data"), nginx: scratch + "/no-nginx",
                                         sitesDirectory: scratch + "/sites", logsDirectory: scratch + "/logs")
            let handler = ProxyUpdateHandler(workspace: Workspace(root: scratch + "/data"),
                                             store: DirectoryStore(root: scratch + "/store"), settings: settings)
            var args = validArguments()
            args[hostile.field] = hostile.value
            let failure = await failureOf(handler, args)
            #expect(failure?.kind == "bad-args", "\(String(describing: failure))")
            #expect(failure?.retryable == false)
            #expect(!FileSystem.exists(scratch + "/sites"))
            #expect(!FileSystem.exists(scratch + "/data"))
            #expect(!FileSystem.exists(scratch + "/logs"))
        }
    }

    @Test func argumentsOfTheWrongTypeAreBadArgs() async throws {
        try await withScratch { scratch in
            let settings = ProxySettings(workspace: Workspace(root: scratch + "/data"), nginx: scratch + "/no-nginx",
                                         sitesDirectory: scratch + "/sites")
            let handler = ProxyUpdateHandler(workspace: Workspace(root: scratch + "/data"),
                                             store: DirectoryStore(root: scratch + "/store"), settings: settings)
            let wrong: [(String, JSONValue?)] = [
                ("project", nil), ("project", .int(3)), ("bundle", nil), ("bundle", .array([])), ("sha256", .int(1)),
                ("hostnames", nil), ("hostnames", .int(5)), ("hostnames", .array([])), ("hostnames", .array([.int(1)])),
                ("upstreams", nil), ("upstreams", .string("127.0.0.1:80")), ("upstreams", .array([])),
                ("upstreams", .array([.string("127.0.0.1")])),
                ("upstreams", .array([.object(["address": .string("127.0.0.1")])])),
                ("upstreams", .array([.object(["address": .int(1), "port": .int(80)])])),
                ("upstreams", .array([.object(["address": .string("127.0.0.1"), "port": .string("http")])])),
                ("upstreams", .array([.object(["address": .string("127.0.0.1"), "port": .double(80.5)])])),
                ("static", .object([:])), ("static", .array([.string("/static/")])),
                ("static", .array([.object(["url": .string("/static/")])])),
                ("static", .array([.object(["url": .string("/s/"), "path": .string("a")]),
                                   .object(["url": .string("/s/"), "path": .string("b")])])),
                ("client_max_body_size", .bool(true)), ("client_max_body_size", .int(-5)),
            ]
            for (field, value) in wrong {
                var args = validArguments()
                args[field] = value
                let failure = await failureOf(handler, args)
                #expect(failure?.kind == "bad-args", "\(field) = \(String(describing: value)): \(String(describing: failure))")
            }
            let removal = RemoveProxyConfHandler(workspace: Workspace(root: scratch + "/data"), settings: settings)
            for value in [JSONValue.int(1), .string("../etc"), .string("Shop")] {
                let failure = await failureOf(removal, ["project": value])
                #expect(failure?.kind == "bad-args", "\(value): \(String(describing: failure))")
            }
            #expect(!FileSystem.exists(scratch + "/sites"))
        }
    }

    @Test func settingsTakeFlagsThenEnvironmentThenDefaults() throws {
        let workspace = Workspace(root: "/srv/dz")
        let defaults = try ProxySettings.resolve(workspace: workspace, environment: [:])
        #expect(defaults.nginxCommand == ["nginx"])
        #expect(defaults.sitesDirectory == "/etc/nginx/sites-enabled")
        #expect(defaults.logsDirectory == "/var/log/nginx")
        #expect(defaults.staticRoot == "/srv/dz/static")
        #expect(defaults.listenPort == 80)
        #expect(defaults.listenAddress == nil)

        let environment = ["DZ_NGINX": "/opt/nginx/sbin/nginx", "DZ_NGINX_PREFIX": "/opt/site/",
                           "DZ_NGINX_CONF": "/opt/site/nginx.conf", "DZ_PROXY_PORT": "8080",
                           "DZ_PROXY_ADDRESS": "127.0.0.1"]
        let fromEnvironment = try ProxySettings.resolve(workspace: workspace, environment: environment)
        #expect(fromEnvironment.nginxCommand == ["/opt/nginx/sbin/nginx", "-p", "/opt/site", "-c", "/opt/site/nginx.conf"])
        #expect(fromEnvironment.sitesDirectory == "/opt/site/sites")
        #expect(fromEnvironment.logsDirectory == "/opt/site/logs")
        #expect(fromEnvironment.listenPort == 8080)
        #expect(fromEnvironment.listenAddress == "127.0.0.1")

        let fromFlags = try ProxySettings.resolve(nginx: "nginx-debug", prefix: "/p", sites: "/p/enabled",
                                                  listenPort: "81", workspace: workspace, environment: environment)
        #expect(fromFlags.nginxCommand == ["nginx-debug", "-p", "/p", "-c", "/opt/site/nginx.conf"])
        #expect(fromFlags.sitesDirectory == "/p/enabled")
        #expect(fromFlags.listenPort == 81)

        let relative = try ProxySettings.resolve(workspace: Workspace(root: "var"), environment: [:])
        #expect(relative.staticRoot == FileManager.default.currentDirectoryPath + "/var/static")
    }

    @Test func settingsRefuseWhatCannotGoIntoASite() {
        for port in ["0", "65536", "80;", "http", "-1"] {
            #expect(throws: ProxyError.self, "\(port)") {
                try ProxySettings.resolve(listenPort: port, workspace: Workspace(root: "/srv"), environment: [:])
            }
        }
        #expect(throws: ProxyError.self) {
            try ProxySettings.resolve(workspace: Workspace(root: "/srv/my data"), environment: [:])
        }
        #expect(throws: ProxyError.self) {
            try ProxySettings.resolve(sites: "/etc/nginx/sites;x", workspace: Workspace(root: "/srv"), environment: [:])
        }
        #expect(throws: ProxyError.self) {
            try ProxySettings.resolve(workspace: Workspace(root: "/srv"), environment: ["DZ_PROXY_ADDRESS": "localhost"])
        }
    }

    // MARK: A real nginx

    @Suite(.timeLimit(.minutes(5))) struct RealNginx {
        @Test func theSiteReachesTheAppWithItsHostAndOtherHostsGetTheDefaultServer() async throws {
            try await withProxyHost { host in
                try await host.withApps(["one"]) { ports in
                    let output = try await host.update(bundle: "bundle_shop_1", hostnames: ["shop.test", "*.shop.test"],
                                                       ports: ports)
                    #expect(output["site"] == .string(host.nginx.sitesDirectory + "/dz_shop.conf"))
                    #expect(output["urls"] == .array([.string("http://shop.test:\(host.nginx.port)/")]))
                    #expect(output["hostnames"] == .array([.string("shop.test"), .string("*.shop.test")]))
                    #expect(output["upstreams"] == .array([.object(["address": .string("127.0.0.1"),
                                                                    "port": .int(Int64(ports[0]))])]))
                    let reply = try await host.eventually("/hello?x=1", host: "shop.test") { $0.body.hasPrefix("app=one") }
                    #expect(reply.status == 200)
                    #expect(reply.body.contains(" host=shop.test "), "\(reply)")
                    #expect(reply.body.contains(" xff=127.0.0.1 "), "\(reply)")
                    #expect(reply.body.contains(" proto=http "), "\(reply)")
                    #expect(reply.body.contains(" real=127.0.0.1 "), "\(reply)")
                    #expect(reply.body.contains(" path=/hello?x=1"), "\(reply)")

                    let wildcard = try await host.nginx.get("/", host: "www.shop.test")
                    #expect(wildcard.body.hasPrefix("app=one host=www.shop.test "), "\(wildcard)")

                    for other in ["other.test", "shop.test.evil", "shop.tes"] {
                        let reply = try await host.nginx.get("/", host: other)
                        #expect(reply.status == 404, "\(other): \(reply)")
                        #expect(reply.body == NginxServer.defaultBody, "\(other): \(reply)")
                    }
                    #expect(FileSystem.exists(host.nginx.logsDirectory + "/dz_shop.access.log"))
                }
            }
        }

        @Test func requestsAreSpreadOverTheUpstreamsAndADeadOneIsSkipped() async throws {
            try await withProxyHost { host in
                try await host.withApps(["a", "b"]) { ports in
                    let dead = try FreePort.loopback()
                    _ = try await host.update(bundle: "bundle_shop_1", hostnames: ["shop.test"],
                                              ports: [ports[0], dead, ports[1]])
                    _ = try await host.eventually("/", host: "shop.test") { $0.body.hasPrefix("app=") }
                    var seen = Set<String>()
                    for _ in 0..<12 {
                        let reply = try await host.nginx.get("/", host: "shop.test")
                        #expect(reply.status == 200, "\(reply)")
                        if let app = reply.body.split(separator: " ").first { seen.insert(String(app)) }
                    }
                    #expect(seen == ["app=a", "app=b"])
                }
            }
        }

        @Test func staticFilesComeFromTheBundleThroughNginxAndNothingElseOfItIsKept() async throws {
            try await withProxyHost { host in
                let sha256 = try await host.makeBundle("bundle_shop_1", css: "body { color: red; }\n")
                try await host.withApps(["one"]) { ports in
                    let output = try await host.update(bundle: "bundle_shop_1", hostnames: ["shop.test"], ports: ports,
                                                       static: [("/static/", "static")], sha256: sha256)
                    let directory = host.settings.staticRoot + "/shop/bundle_shop_1"
                    #expect(output["static"] == .array([.object(["url": .string("/static/"), "path": .string("static"),
                                                                 "directory": .string(directory + "/static")])]))
                    let css = try await host.eventually("/static/css/site.css", host: "shop.test") { $0.status == 200 }
                    #expect(css.body == "body { color: red; }\n")
                    #expect(css.headers["content-type"] == "text/css")
                    let js = try await host.nginx.get("/static/js/app.js", host: "shop.test")
                    #expect(js.status == 200 && js.body == "console.log('hi');\n", "\(js)")
                    let linked = try await host.nginx.get("/static/css/same.css", host: "shop.test")
                    #expect(linked.status == 200 && linked.body == css.body, "\(linked)")
                    for missing in ["/static/leak.py", "/static/nothing.css", "/static/../code/settings.py",
                                    "/static/%2e%2e/code/settings.py", "/static/css/../../MANIFEST.json"]
                    {
                        let reply = try await host.nginx.get(missing, host: "shop.test")
                        #expect(!reply.body.contains("SECRET"), "\(missing): \(reply)")
                        #expect(reply.status == 404 || reply.body.hasPrefix("app=one"), "\(missing): \(reply)")
                    }
                    let notFound = try await host.nginx.get("/static/nothing.css", host: "shop.test")
                    #expect(notFound.status == 404 && !notFound.body.contains("app="), "\(notFound)")
                    let page = try await host.nginx.get("/staticky", host: "shop.test")
                    #expect(page.body.hasPrefix("app=one"), "\(page)")

                    #expect(try FileSystem.names(in: directory) == ["static"])
                    #expect(!FileSystem.exists(directory + "/static/leak.py"))
                    #expect((try FileSystem.linkStatus(directory + "/static/css/same.css")).kind == .symbolicLink)
                    for path in ["", "/static", "/static/css", "/static/js"] {
                        #expect(try mode(of: directory + path) == 0o755, "\(path)")
                    }
                    #expect(try mode(of: directory + "/static/css/site.css") == 0o644)
                    #expect(try mode(of: directory + "/static/js/app.js") == 0o644)
                    #expect(try FileSystem.names(in: host.settings.staticRoot + "/shop") == ["bundle_shop_1"])
                }
            }
        }

        @Test func staticFilesOfThePreviousBundleStayUntilTheNextUpdate() async throws {
            try await withProxyHost { host in
                for number in 1...3 { _ = try await host.makeBundle("bundle_shop_\(number)", css: "v\(number)\n") }
                let project = host.settings.staticRoot + "/shop"
                try await host.withApps(["one"]) { ports in
                    func deploy(_ number: Int) async throws -> [String: JSONValue] {
                        // No sha256: the one in the stored manifest is used.
                        let output = try await host.update(bundle: "bundle_shop_\(number)", hostnames: ["shop.test"],
                                                           ports: ports, static: [("/static/", "static")])
                        _ = try await host.eventually("/static/css/site.css", host: "shop.test") { $0.body == "v\(number)\n" }
                        return output
                    }
                    _ = try await deploy(1)
                    _ = try await deploy(2)
                    #expect(try FileSystem.names(in: project).sorted() == ["bundle_shop_1", "bundle_shop_2"])
                    let third = try await deploy(3)
                    #expect(third["removed_static"] == .array([.string("bundle_shop_1")]))
                    #expect(try FileSystem.names(in: project).sorted() == ["bundle_shop_2", "bundle_shop_3"])
                    // The same bundle again (a retry) keeps the one before it.
                    _ = try await deploy(3)
                    #expect(try FileSystem.names(in: project).sorted() == ["bundle_shop_2", "bundle_shop_3"])
                    // Back to bundle 2: bundle 3 is now the previous one.
                    _ = try await deploy(2)
                    #expect(try FileSystem.names(in: project).sorted() == ["bundle_shop_2", "bundle_shop_3"])
                }
            }
        }

        @Test func aBundleWithTheWrongChecksumChangesNothing() async throws {
            try await withProxyHost { host in
                _ = try await host.makeBundle("bundle_shop_1", css: "v1\n")
                let failure = await host.failure(bundle: "bundle_shop_1", hostnames: ["shop.test"], ports: [9],
                                                 static: [("/static/", "static")],
                                                 sha256: String(repeating: "0", count: 64))
                #expect(failure?.kind == "checksum", "\(String(describing: failure))")
                let missingDirectory = await host.failure(bundle: "bundle_shop_1", hostnames: ["shop.test"], ports: [9],
                                                          static: [("/static/", "assets")])
                #expect(missingDirectory?.kind == "static-missing", "\(String(describing: missingDirectory))")
                let missingBundle = await host.failure(bundle: "bundle_shop_9", hostnames: ["shop.test"], ports: [9],
                                                       static: [("/static/", "static")])
                #expect(missingBundle?.kind == "not-found", "\(String(describing: missingBundle))")
                #expect(!FileSystem.exists(host.nginx.sitesDirectory + "/dz_shop.conf"))
                #expect(try FileSystem.names(in: host.settings.staticRoot + "/shop") == [])
            }
        }

        @Test func aRefusedConfigurationPutsThePreviousSiteBackAndNginxKeepsServingIt() async throws {
            try await withProxyHost { host in
                _ = try await host.makeBundle("bundle_shop_1", css: "v1\n")
                _ = try await host.makeBundle("bundle_shop_2", css: "v2\n")
                try await host.withApps(["one", "two"]) { ports in
                    _ = try await host.update(bundle: "bundle_shop_1", hostnames: ["shop.test"], ports: [ports[0]],
                                              static: [("/static/", "static")])
                    _ = try await host.eventually("/", host: "shop.test") { $0.body.hasPrefix("app=one") }
                    let site = host.nginx.sitesDirectory + "/dz_shop.conf"
                    let first = try FileIO.readAll(site)

                    // Someone else's broken site: nginx -t now fails whatever dz writes.
                    let broken = host.nginx.sitesDirectory + "/zz_broken.conf"
                    try FileIO.create(broken, bytes: Array("this is not nginx;\n".utf8), mode: 0o644, sync: false)
                    let failure = await host.failure(bundle: "bundle_shop_2", hostnames: ["shop.test"], ports: [ports[1]],
                                                     static: [("/static/", "static")])
                    #expect(failure?.kind == "nginx-config", "\(String(describing: failure))")
                    #expect(failure?.retryable == false)
                    #expect(failure?.message.contains("unknown directive \"this\"") == true,
                            "\(String(describing: failure))")
                    #expect(try FileIO.readAll(site) == first)
                    #expect(try FileSystem.names(in: host.settings.staticRoot + "/shop") == ["bundle_shop_1"])
                    for _ in 0..<5 {
                        let reply = try await host.nginx.get("/", host: "shop.test")
                        #expect(reply.body.hasPrefix("app=one"), "\(reply)")
                    }
                    let css = try await host.nginx.get("/static/css/site.css", host: "shop.test")
                    #expect(css.body == "v1\n", "\(css)")

                    try FileSystem.unlink(broken)
                    _ = try await host.update(bundle: "bundle_shop_2", hostnames: ["shop.test"], ports: [ports[1]],
                                              static: [("/static/", "static")])
                    _ = try await host.eventually("/", host: "shop.test") { $0.body.hasPrefix("app=two") }
                    let kept = try FileIO.readAll(host.nginx.sitesDirectory + "/.dz_shop.conf.previous")
                    #expect(kept == first)
                }
            }
        }

        @Test func aRefusedFirstSiteLeavesNoFile() async throws {
            try await withProxyHost { host in
                try FileIO.create(host.nginx.sitesDirectory + "/zz_broken.conf", bytes: Array("server {\n".utf8),
                                  mode: 0o644, sync: false)
                let failure = await host.failure(bundle: "bundle_shop_1", hostnames: ["shop.test"], ports: [9])
                #expect(failure?.kind == "nginx-config", "\(String(describing: failure))")
                #expect(try FileSystem.names(in: host.nginx.sitesDirectory).filter { $0.contains("shop") } == [])
            }
        }

        @Test func missingNginxFailsWithWhatToInstallAndLeavesNoSite() async throws {
            try await withProxyHost { host in
                var settings = host.settings
                settings.nginx = "/nonexistent/nginx"
                let handler = ProxyUpdateHandler(workspace: host.workspace, store: host.store, settings: settings)
                let failure = await failureOf(handler, validArguments())
                #expect(failure?.kind == "nginx-missing", "\(String(describing: failure))")
                #expect(failure?.message.contains("apt-get install") == true)
                #expect(!FileSystem.exists(host.nginx.sitesDirectory + "/dz_shop.conf"))
            }
        }

        @Test func aReloadThatFailsIsRetryableAndPutsThePreviousSiteBack() async throws {
            try await withProxyHost { host in
                let master = try #require(host.nginx.masterPID())
                _ = kill(master, SIGTERM)
                let ended = try await NginxServer.poll(timeout: 10) { kill(master, 0) != 0 }
                try #require(ended, "nginx did not stop")
                let failure = await host.failure(bundle: "bundle_shop_1", hostnames: ["shop.test"], ports: [9])
                #expect(failure?.kind == "nginx-reload", "\(String(describing: failure))")
                #expect(failure?.retryable == true)
                // What is on disk says what nginx serves: no site (there was none before), so that no later reload
                // switches to instances the failed job's compensation stops; the retry writes it again.
                #expect(!FileSystem.exists(host.nginx.sitesDirectory + "/dz_shop.conf"))
            }
        }

        @Test func removeProxyConfTakesTheSiteAwayAndCanBeRepeated() async throws {
            try await withProxyHost { host in
                _ = try await host.makeBundle("bundle_shop_1", css: "v1\n")
                try await host.withApps(["one"]) { ports in
                    _ = try await host.update(bundle: "bundle_shop_1", hostnames: ["shop.test"], ports: ports,
                                              static: [("/static/", "static")])
                    _ = try await host.eventually("/", host: "shop.test") { $0.body.hasPrefix("app=one") }

                    let removed = try await host.remove("shop")
                    #expect(removed["removed"] == .bool(true))
                    let gone = try await host.eventually("/", host: "shop.test") { $0.status == 404 }
                    #expect(gone.body == NginxServer.defaultBody)
                    let sites = try FileSystem.names(in: host.nginx.sitesDirectory)
                    #expect(!sites.contains("dz_shop.conf") && !sites.contains(".dz_shop.conf.previous"), "\(sites)")
                    #expect(FileSystem.exists(host.nginx.sitesDirectory + "/.removed/dz_shop.conf"))
                    #expect(!FileSystem.exists(host.settings.staticRoot + "/shop"))

                    let again = try await host.remove("shop")
                    #expect(again["removed"] == .bool(false))
                    let never = try await host.remove("blog")
                    #expect(never["removed"] == .bool(false))
                }
            }
        }

        @Test func stagedStaticFilesAreNeverServedUntilTheSwitchTakesThem() async throws {
            try await withProxyHost { host in
                let first = try await host.makeBundle("bundle_shop_1", css: "v1\n")
                let second = try await host.makeBundle("bundle_shop_2", css: "v2\n")
                let project = host.settings.staticRoot + "/shop"
                let staged = project + "/.staged-bundle_shop_2"
                try await host.withApps(["one"]) { ports in
                    let live = try await host.update(bundle: "bundle_shop_1", hostnames: ["shop.test"], ports: ports,
                                                     static: [("/static/", "static")], sha256: first)
                    #expect(live["static_source"] == .string("fetched"), "nothing was staged: it fetched them")
                    _ = try await host.eventually("/static/css/site.css", host: "shop.test") { $0.body == "v1\n" }

                    let stage = try await host.stage(bundle: "bundle_shop_2", sha256: second)
                    #expect(stage == ["bundle": .string("bundle_shop_2"), "state": .string("staged"),
                                      "directory": .string(staged), "fetched": .bool(true)])
                    #expect(try FileSystem.names(in: staged) == ["static"])
                    #expect(try FileIO.readAll(staged + "/static/css/site.css") == Array("v2\n".utf8))
                    #expect(try mode(of: staged + "/static/css/site.css") == 0o644)
                    #expect(!FileSystem.exists(staged + "/static/leak.py"), "a link out of the tree is dropped")
                    #expect(try FileSystem.names(in: project).sorted() == [".staged-bundle_shop_2", "bundle_shop_1"],
                            "no fetch left behind, the live bundle untouched")
                    let before = try await host.nginx.get("/static/css/site.css", host: "shop.test")
                    #expect(before.body == "v1\n", "staged is not served: \(before)")
                    // Staged already: a retry fetches nothing.
                    let again = try await host.stage(bundle: "bundle_shop_2", sha256: second)
                    #expect(again["fetched"] == .bool(false) && again["state"] == .string("staged"))

                    let switched = try await host.update(bundle: "bundle_shop_2", hostnames: ["shop.test"],
                                                         ports: ports, static: [("/static/", "static")],
                                                         sha256: second)
                    #expect(switched["static_source"] == .string("staged"))
                    _ = try await host.eventually("/static/css/site.css", host: "shop.test") { $0.body == "v2\n" }
                    #expect(try FileSystem.names(in: project).sorted() == ["bundle_shop_1", "bundle_shop_2"])

                    // Both bundles' files are here now: a rollback's staging has nothing to do.
                    let back = try await host.stage(bundle: "bundle_shop_1")
                    #expect(back["state"] == .string("here") && back["fetched"] == .bool(false))
                    #expect(back["directory"] == .string(project + "/bundle_shop_1"))
                    let none = try await host.stage(bundle: "bundle_shop_3", static: [])
                    #expect(none["state"] == .string("none") && none["directory"] == .null)
                }
            }
        }

        @Test func stagedFilesOfAReleaseThatDidNotGoLiveAreRemovedAndTheServedOnesKept() async throws {
            try await withProxyHost { host in
                for number in 1...3 { _ = try await host.makeBundle("bundle_shop_\(number)", css: "v\(number)\n") }
                let project = host.settings.staticRoot + "/shop"
                try await host.withApps(["one"]) { ports in
                    _ = try await host.update(bundle: "bundle_shop_1", hostnames: ["shop.test"], ports: ports,
                                              static: [("/static/", "static")])
                    // A failed job's compensation.
                    _ = try await host.stage(bundle: "bundle_shop_2")
                    let removed = try await host.unstage(bundle: "bundle_shop_2")
                    #expect(removed == ["removed": .bool(true), "directory": .string(project + "/.staged-bundle_shop_2")])
                    #expect(try FileSystem.names(in: project) == ["bundle_shop_1"], "nothing staged is left")
                    #expect(try await host.unstage(bundle: "bundle_shop_2")["removed"] == .bool(false), "repeatable")
                    // Never the served files, even of the bundle named.
                    #expect(try await host.unstage(bundle: "bundle_shop_1")["removed"] == .bool(false))
                    let css = try await host.nginx.get("/static/css/site.css", host: "shop.test")
                    #expect(css.body == "v1\n", "\(css)")

                    // A staging whose compensation never ran goes with the project's next switch.
                    _ = try await host.stage(bundle: "bundle_shop_3")
                    _ = try await host.stage(bundle: "bundle_shop_2")
                    #expect(try FileSystem.names(in: project).sorted()
                            == [".staged-bundle_shop_2", ".staged-bundle_shop_3", "bundle_shop_1"])
                    let output = try await host.update(bundle: "bundle_shop_2", hostnames: ["shop.test"], ports: ports,
                                                       static: [("/static/", "static")])
                    #expect(output["static_source"] == .string("staged"))
                    #expect(try FileSystem.names(in: project).sorted() == ["bundle_shop_1", "bundle_shop_2"])
                }
            }
        }

        @Test func aSwitchThatNginxRefusesLeavesNeitherTheStagedNorTheServedFilesOfItsRelease() async throws {
            try await withProxyHost { host in
                _ = try await host.makeBundle("bundle_shop_1", css: "v1\n")
                _ = try await host.makeBundle("bundle_shop_2", css: "v2\n")
                let project = host.settings.staticRoot + "/shop"
                try await host.withApps(["one"]) { ports in
                    _ = try await host.update(bundle: "bundle_shop_1", hostnames: ["shop.test"], ports: ports,
                                              static: [("/static/", "static")])
                    _ = try await host.stage(bundle: "bundle_shop_2")
                    let broken = host.nginx.sitesDirectory + "/zz_broken.conf"
                    try FileIO.create(broken, bytes: Array("this is not nginx;\n".utf8), mode: 0o644, sync: false)
                    let failure = await host.failure(bundle: "bundle_shop_2", hostnames: ["shop.test"], ports: ports,
                                                     static: [("/static/", "static")])
                    #expect(failure?.kind == "nginx-config", "\(String(describing: failure))")
                    #expect(try FileSystem.names(in: project) == ["bundle_shop_1"])
                    let css = try await host.nginx.get("/static/css/site.css", host: "shop.test")
                    #expect(css.body == "v1\n", "\(css)")
                }
            }
        }

        @Test func stageStaticRefusesWhatProxyUpdateRefuses() async throws {
            try await withProxyHost { host in
                _ = try await host.makeBundle("bundle_shop_1", css: "v1\n")
                let project = host.settings.staticRoot + "/shop"
                let checksum = await failureOf(host.stageHandler, host.stageArguments(
                    bundle: "bundle_shop_1", static: [("/static/", "static")], sha256: String(repeating: "0", count: 64)))
                #expect(checksum?.kind == "checksum", "\(String(describing: checksum))")
                let missing = await failureOf(host.stageHandler, host.stageArguments(
                    bundle: "bundle_shop_1", static: [("/static/", "assets")], sha256: nil))
                #expect(missing?.kind == "static-missing", "\(String(describing: missing))")
                #expect(((try? FileSystem.names(in: project)) ?? []) == [], "a failed staging leaves nothing")
                for (bundle, path, sha256) in [("bundle_other_1", "static", nil), ("../bundle_shop_1", "static", nil),
                                               ("bundle_shop_1", "../code", nil), ("bundle_shop_1", "static", "abc")] {
                    let refused = await failureOf(host.stageHandler, host.stageArguments(
                        bundle: bundle, static: [("/static/", path)], sha256: sha256))
                    #expect(refused?.kind == "bad-args", "\(bundle) \(path): \(String(describing: refused))")
                }
                let unstage = await failureOf(UnstageStaticHandler(workspace: host.workspace, settings: host.settings),
                                              ["project": .string("shop"), "bundle": .string("../../etc")])
                #expect(unstage?.kind == "bad-args", "\(String(describing: unstage))")
            }
        }

        @Test func updatesOfTwoProjectsAtOnceBothApply() async throws {
            try await withProxyHost { host in
                try await host.withApps(["shop", "blog"]) { ports in
                    async let shop = host.update(project: "shop", bundle: "bundle_shop_1", hostnames: ["shop.test"],
                                                 ports: [ports[0]])
                    async let blog = host.update(project: "blog", bundle: "bundle_blog_1", hostnames: ["blog.test"],
                                                 ports: [ports[1]])
                    _ = try await (shop, blog)
                    _ = try await host.eventually("/", host: "shop.test") { $0.body.hasPrefix("app=shop") }
                    _ = try await host.eventually("/", host: "blog.test") { $0.body.hasPrefix("app=blog") }
                }
            }
        }
    }
}

// MARK: - Support

/// One hostile value for one argument of an otherwise valid `proxy_update`.
struct HostileArgument: Sendable, CustomTestStringConvertible {
    let field: String
    let value: JSONValue

    var testDescription: String { "\(field) = \(value)" }

    static let all: [HostileArgument] = {
        var cases: [HostileArgument] = []
        for name in ["a;b", "x} server {", "a b", "$host", "\"quoted\"", "'q'", "shop.test; include /etc/passwd",
                     "a\nb", "../x"]
        {
            cases.append(HostileArgument(field: "hostnames", value: .array([.string("ok.test"), .string(name)])))
        }
        cases.append(HostileArgument(field: "hostnames", value: .string("ok.test,x} server {")))
        for address in ["127.0.0.1;", "1.2.3.4 backup", "$host", "x} server {", "../", "\"a\"", "a;b"] {
            cases.append(HostileArgument(field: "upstreams", value: .array([
                .object(["address": .string(address), "port": .int(80)])])))
        }
        for port in [JSONValue.int(0), .int(70000), .string("80;"), .string("-1"), .string("8 0")] {
            cases.append(HostileArgument(field: "upstreams", value: .array([
                .object(["address": .string("127.0.0.1"), "port": port])])))
        }
        for (url, path) in [("../", "static"), ("/static/;", "static"), ("/st atic/", "static"), ("/$x/", "static"),
                            ("/\"/", "static"), ("/", "static"), ("/x} server {/", "static"), ("/static/", "../code"),
                            ("/static/", "/etc"), ("/static/", "a/../../b"), ("/static/", "st;atic"),
                            ("/static/", "static dir"), ("/static/", "$document_root"), ("/static/", "."),
                            ("/static/", "'s'")]
        {
            cases.append(HostileArgument(field: "static", value: .array([
                .object(["url": .string(url), "path": .string(path)])])))
        }
        for size in ["10m;", "1 g", "$x", "10mb", "20m; include x"] {
            cases.append(HostileArgument(field: "client_max_body_size", value: .string(size)))
        }
        for bundle in ["bundle_shop_x;y", "../bundle_shop_1", "bundle_other_1", "bundle_shop_1 x", "bundle_shop_$x"] {
            cases.append(HostileArgument(field: "bundle", value: .string(bundle)))
        }
        cases.append(HostileArgument(field: "project", value: .string("shop;x")))
        cases.append(HostileArgument(field: "sha256", value: .string("abc")))
        return cases
    }()
}

/// The arguments of a valid `proxy_update` of `shop` without static files.
private func validArguments() -> [String: JSONValue] {
    ["project": .string("shop"), "bundle": .string("bundle_shop_1"), "hostnames": .array([.string("shop.test")]),
     "upstreams": .array([.object(["address": .string("127.0.0.1"), "port": .int(10001)])])]
}

func proxyContext(_ task: String, _ args: [String: JSONValue]) throws -> TaskContext {
    TaskContext(task: TaskFile(id: try TaskID("t"), task: task, args: args), queue: try QueueName("proxy"),
                host: try HostID("h"), logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
}

/// The permission bits of `path`.
private func mode(of path: String) throws -> Int {
    try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) & 0o7777
}

/// Runs `body` with an empty temporary directory (mode 0755, so that nginx's workers can enter it), removed after.
private func withScratch(_ body: (String) async throws -> Void) async throws {
    let scratch = "/tmp/dz-proxy-" + UUID().uuidString
    try FileSystem.makeDirectory(scratch, mode: 0o755)
    try FileSystem.setMode(scratch, 0o755)
    let result: Result<Void, any Error>
    do {
        try await body(scratch)
        result = .success(())
    } catch {
        result = .failure(error)
    }
    _ = try? await Subprocess.run(["rm", "-rf", "--", scratch], timeout: 120)
    try result.get()
}

/// Runs `body` with a proxy host: a real nginx, a data directory and a bundle store in a scratch directory;
/// `configure` changes the settings (the TLS port, ACME).
func withProxyHost(configure: (inout ProxySettings) throws -> Void = { _ in },
                   _ body: (ProxyHost) async throws -> Void) async throws {
    let nginx = try await NginxServer.start()
    let result: Result<Void, any Error>
    do {
        try await withScratch { scratch in
            let workspace = Workspace(root: scratch + "/data")
            var settings = ProxySettings(workspace: workspace, nginx: nginx.nginx, prefix: nginx.prefix,
                                         conf: nginx.confPath, listenPort: nginx.port, listenAddress: nginx.address)
            try configure(&settings)
            try await body(ProxyHost(nginx: nginx, scratch: scratch, workspace: workspace,
                                     store: DirectoryStore(root: scratch + "/store"), settings: settings))
        }
        result = .success(())
    } catch {
        result = .failure(error)
    }
    if case .failure = result { print("nginx error log:\n\(nginx.errorLog())") }
    await nginx.stop()
    try result.get()
}

/// A proxy host of one test, and what the tests do with it.
struct ProxyHost: Sendable {
    let nginx: NginxServer
    let scratch: String
    let workspace: Workspace
    let store: DirectoryStore
    let settings: ProxySettings

    var updateHandler: ProxyUpdateHandler { ProxyUpdateHandler(workspace: workspace, store: store, settings: settings) }

    func arguments(project: String, bundle: String, hostnames: [String], ports: [Int], static: [(String, String)],
                   sha256: String?) -> [String: JSONValue]
    {
        var args: [String: JSONValue] = [
            "project": .string(project), "bundle": .string(bundle), "hostnames": .array(hostnames.map { .string($0) }),
            "upstreams": .array(ports.map { .object(["address": .string("127.0.0.1"), "port": .int(Int64($0))]) }),
            "static": .array(`static`.map { .object(["url": .string($0.0), "path": .string($0.1)]) }),
        ]
        if let sha256 { args["sha256"] = .string(sha256) }
        return args
    }

    /// Runs `proxy_update`, requiring success, and waits until nginx's old workers are gone.
    func update(project: String = "shop", bundle: String, hostnames: [String], ports: [Int],
                static: [(String, String)] = [], sha256: String? = nil) async throws -> [String: JSONValue]
    {
        let workers = nginx.workerPIDs()
        let output = try await updateHandler.run(try proxyContext("proxy_update", arguments(
            project: project, bundle: bundle, hostnames: hostnames, ports: ports, static: `static`, sha256: sha256)))
        try await nginx.waitForReload(replacing: workers)
        return output
    }

    /// Runs `proxy_update` and returns how it failed (nil if it did not).
    func failure(project: String = "shop", bundle: String, hostnames: [String], ports: [Int],
                 static: [(String, String)] = [], sha256: String? = nil) async -> TaskFailure?
    {
        await DZWorkTests.failureOf(updateHandler, arguments(
            project: project, bundle: bundle, hostnames: hostnames, ports: ports, static: `static`, sha256: sha256))
    }

    var stageHandler: StageStaticHandler { StageStaticHandler(workspace: workspace, store: store, settings: settings) }

    func stageArguments(project: String = "shop", bundle: String, static: [(String, String)], sha256: String?)
        -> [String: JSONValue]
    {
        var args: [String: JSONValue] = [
            "project": .string(project), "bundle": .string(bundle),
            "static": .array(`static`.map { .object(["url": .string($0.0), "path": .string($0.1)]) }),
        ]
        if let sha256 { args["sha256"] = .string(sha256) }
        return args
    }

    /// Runs `stage_static`, requiring success.
    func stage(project: String = "shop", bundle: String, static: [(String, String)] = [("/static/", "static")],
               sha256: String? = nil) async throws -> [String: JSONValue]
    {
        try await stageHandler.run(try proxyContext("stage_static", stageArguments(
            project: project, bundle: bundle, static: `static`, sha256: sha256)))
    }

    /// Runs `unstage_static`, requiring success.
    func unstage(project: String = "shop", bundle: String) async throws -> [String: JSONValue] {
        try await UnstageStaticHandler(workspace: workspace, settings: settings).run(try proxyContext(
            "unstage_static", ["project": .string(project), "bundle": .string(bundle)]))
    }

    /// Runs `remove_proxy_conf`, requiring success.
    func remove(_ project: String) async throws -> [String: JSONValue] {
        let workers = nginx.workerPIDs()
        let output = try await RemoveProxyConfHandler(workspace: workspace, settings: settings)
            .run(try proxyContext("remove_proxy_conf", ["project": .string(project)]))
        try await nginx.waitForReload(replacing: workers)
        return output
    }

    /// Asks nginx for `path` until the reply satisfies `accept`, for up to 10 s.
    func eventually(_ path: String, host: String, _ accept: (NginxServer.Reply) -> Bool) async throws
        -> NginxServer.Reply
    {
        var last: NginxServer.Reply?
        let accepted = try await NginxServer.poll(timeout: 10) {
            last = try await nginx.get(path, host: host)
            return last.map(accept) ?? false
        }
        try #require(accepted, "\(host)\(path): last reply \(String(describing: last))")
        return try #require(last)
    }

    /// Builds a bundle of project `shop` with static files (`css` as `static/css/site.css`, 0600 in the build),
    /// code that must never be served, and two links, and stores it with its manifest; returns its SHA-256.
    func makeBundle(_ name: String, css: String) async throws -> String {
        let build = scratch + "/build-" + name
        func write(_ path: String, _ text: String, mode: mode_t = 0o644) throws {
            let full = build + "/" + path
            try FileSystem.makeDirectories((full as NSString).deletingLastPathComponent, mode: 0o755)
            try FileIO.create(full, bytes: Array(text.utf8), mode: mode, sync: false)
            try FileSystem.setMode(full, mode)
        }
        try write("static/css/site.css", css, mode: 0o600)
        try write("static/js/app.js", "console.log('hi');\n")
        try write("code/settings.py", "SECRET_KEY = 'SECRET'\n")
        try FileSystem.symlink(target: "site.css", at: build + "/static/css/same.css")
        try FileSystem.symlink(target: "../code/settings.py", at: build + "/static/leak.py")
        let archive = scratch + "/" + name + ".tar.zst"
        let manifest = try BundleArchive.create(from: build, to: archive, manifest: BundleManifest(
            name: name, project: "shop", codeRevision: String(repeating: "a", count: 40), pythonVersion: nil,
            djangoVersion: nil, created: .now()))
        let key = "shop/" + name + ".tar.zst"
        _ = try await store.put(file: archive, key: key)
        _ = try await store.put(file: BundleArchive.manifestPath(for: archive), key: key + BundleArchive.manifestSuffix)
        return try #require(manifest.archiveSHA256)
    }

    /// Runs small HTTP apps on free ports of 127.0.0.1, one per name, each answering every GET with
    /// `app=<name> host=<Host> xff=<X-Forwarded-For> proto=<X-Forwarded-Proto> real=<X-Real-IP> path=<path>`,
    /// for the time of `body`; they are killed (with their process groups) when it ends.
    func withApps(_ names: [String], _ body: ([Int]) async throws -> Void) async throws {
        let script = scratch + "/echo_app.py"
        if !FileSystem.exists(script) {
            try FileIO.create(script, bytes: Array(echoApp.utf8), mode: 0o644, sync: false)
        }
        let python = FileSystem.exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3"
        let ports = try names.map { _ in try FreePort.loopback() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (name, port) in zip(names, ports) {
                group.addTask {
                    let outcome = try await Subprocess.run([python, script, String(port), name], timeout: 900)
                    if outcome.ending != .cancelled {
                        throw NginxServer.Failure.failed("app \(name) ended: \(outcome.ending): \(outcome.tail())")
                    }
                }
            }
            for port in ports {
                let listening = try await NginxServer.poll(timeout: 30) { FreePort.isListening(port) }
                try #require(listening, "the app on port \(port) did not start")
            }
            try await body(ports)
            group.cancelAll()
        }
    }
}

private let echoApp = """
    import http.server, sys

    port, name = int(sys.argv[1]), sys.argv[2]

    class Echo(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            h = self.headers
            body = ("app=%s host=%s xff=%s proto=%s real=%s path=%s\\n" % (
                name, h.get("Host"), h.get("X-Forwarded-For"), h.get("X-Forwarded-Proto"), h.get("X-Real-IP"),
                self.path)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    http.server.ThreadingHTTPServer(("127.0.0.1", port), Echo).serve_forever()

    """
