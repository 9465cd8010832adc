import DZAgent
import DZSpool
import DZSystem
@testable import DZWork
import DZTestSupport
import Foundation
import Logging
import Testing
#if canImport(Glibc)
@preconcurrency import Glibc
@testable import DZBuild
@testable import DZDeploy
#endif

/// Persistent media: the generated settings, the nginx site's media location, the app's media directory on an
/// appserver, and a real nginx serving it.
@Suite struct MediaTests {
    // MARK: Settings

    /// Runs the generated `dz_settings` over a project settings module of `projectSettings` (plain Python: the
    /// module needs no Django) and returns what it leaves in MEDIA_ROOT and MEDIA_URL.
    func media(projectSettings: String, environment: [String: String]) async throws -> (root: String, url: String) {
        try await FixtureSupport.withScratchDirectory { scratch in
            try projectSettings.write(toFile: scratch + "/project_settings.py", atomically: true, encoding: .utf8)
            try SettingsOverride.module(projectSettings: "project_settings")
                .write(toFile: scratch + "/dz_settings.py", atomically: true, encoding: .utf8)
            let outcome = try await Subprocess.run(
                ["/usr/bin/python3", "-c", "import dz_settings as s; print(s.MEDIA_ROOT); print(s.MEDIA_URL)"],
                environment: environment.merging(["PATH": "/usr/bin:/bin"]) { $1 }, workingDirectory: scratch,
                timeout: 60)
            let lines = outcome.stdoutText.split(separator: "\n").map(String.init)
            try #require(outcome.succeeded && lines.count == 2, "dz_settings: \(outcome.tail())")
            return (lines[0], lines[1])
        }
    }

    @Test func mediaRootComesFromTheAppserverAndMediaURLFromTheProjectElseSlashMedia() async throws {
        let given = ["DZ_MEDIA_ROOT": "/srv/dz/apps/.media/shop"]
        #expect(try await media(projectSettings: "MEDIA_ROOT = '/code/media'\nMEDIA_URL = '/uploads/'\n",
                                environment: given) == ("/srv/dz/apps/.media/shop", "/uploads/"))
        // Django's defaults: MEDIA_URL empty (nothing nginx could serve) becomes /media/.
        #expect(try await media(projectSettings: "MEDIA_ROOT = ''\nMEDIA_URL = ''\n", environment: given)
            == ("/srv/dz/apps/.media/shop", "/media/"))
        #expect(try await media(projectSettings: "X = 1\n", environment: given) == ("/srv/dz/apps/.media/shop", "/media/"))
        // At build time there is no DZ_MEDIA_ROOT: the project's own stays.
        #expect(try await media(projectSettings: "MEDIA_ROOT = '/code/media'\nMEDIA_URL = 'files/'\n", environment: [:])
            == ("/code/media", "files/"))
    }

    @Test func onlyALocalPrefixIsServedByTheProxy() {
        #expect(BundleBuilder.servablePrefix("/media/") == "/media/")
        #expect(BundleBuilder.servablePrefix("media/") == "/media/")
        #expect(BundleBuilder.servablePrefix("/site/uploads") == "/site/uploads/")
        for remote in ["https://cdn.example.com/media/", "//cdn.example.com/media/", "", "/", nil, "/a b/", "/x;y/"] {
            #expect(BundleBuilder.servablePrefix(remote) == nil, "\(remote ?? "nil")")
        }
    }

    @Test func theRuntimeEnvironmentNamesTheMediaDirectory() throws {
        let environment = RuntimeEnvironment(bundleDirectory: "/apps/shop/bundle_shop_1", database: nil,
                                             hostnames: [try Hostname("shop.test")], secretKey: nil,
                                             mediaRoot: "/apps/.media/shop", extra: [:])
        #expect(environment.variables["DZ_MEDIA_ROOT"] == "/apps/.media/shop")
        #expect(RuntimeEnvironment.isReserved("DZ_MEDIA_ROOT"), "dz config cannot point it elsewhere")
    }

    // MARK: The site

    func site(static mappings: [StaticMapping] = []) throws -> NginxSite {
        try NginxSite(project: ProjectID("blog"), bundle: "bundle_blog_1", hostnames: [Hostname("blog.test")],
                      upstreams: [UpstreamServer(address: "127.0.0.1", port: 9000)], staticMappings: mappings,
                      staticDirectory: "/srv/static/blog/bundle_blog_1", logsDirectory: "/srv/logs")
    }

    @Test func mediaURLIsServedFromTheMediaDirectoryFollowingOnlyTheAppsOwnLinks() throws {
        var site = try site(static: [StaticMapping(url: "/static/", path: "static"),
                                     StaticMapping(url: "/media/", path: "src/media")])
        site.media = try NginxSite.Media(url: "/media/", directory: "/srv/apps/.media/blog")
        let text = site.render()
        #expect(text.contains("""
                
                    location ^~ /media/ {
                        alias /srv/apps/.media/blog/;
                        disable_symlinks if_not_owner from=/srv/apps/.media/blog;
                        add_header X-Content-Type-Options nosniff;
                    }
                
                """), "\(text)")
        // The bundle's copy of the media directory is not served: one location per URL.
        #expect(!text.contains("src/media"), "\(text)")
        #expect(text.contains("    location ^~ /static/ {\n        alias /srv/static/blog/bundle_blog_1/static/;\n"))
        #expect(try self.site().render().contains("media") == false, "no media location unless asked")
    }

    @Test func hostileMediaValuesAreRefused() {
        for url in ["/", "media/", "/media", "/../", "/a//b/", "/m;edia/", "/m edia/", "/{x}/"] {
            #expect(throws: ProxyError.self, "\(url)") { try NginxSite.Media(url: url, directory: "/srv/m") }
        }
        for directory in ["", "/", "relative", "/srv/m/", "/srv/m;x", "/srv/m x", "/srv/$m", "/srv/{m}"] {
            #expect(throws: ProxyError.self, "\(directory)") { try NginxSite.Media(url: "/media/", directory: directory) }
        }
        var args: [String: JSONValue] = [
            "project": .string("shop"), "bundle": .string("bundle_shop_1"), "hostnames": .array([.string("shop.test")]),
            "upstreams": .array([.object(["address": .string("127.0.0.1"), "port": .int(10001)])]),
        ]
        for bad: JSONValue in [.string("/media;/"), .string("https://cdn/"), .int(1)] {
            args["media_url"] = bad
            #expect(throws: TaskFailure.self, "\(bad)") { try ProxyUpdateRequest(arguments: args) }
        }
    }

    @Test func theProxyServesMediaOnlyWhenTheAppsDirectoryIsOnThisHost() async throws {
        try await FixtureSupport.withScratchDirectory { scratch in
            var settings = ProxySettings(workspace: Workspace(root: scratch))
            let args: [String: JSONValue] = [
                "project": .string("shop"), "bundle": .string("bundle_shop_1"),
                "hostnames": .array([.string("shop.test")]), "media_url": .string("/media/"),
                "upstreams": .array([.object(["address": .string("127.0.0.1"), "port": .int(10001)])]),
            ]
            let request = try ProxyUpdateRequest(arguments: args)
            settings.mediaRoot = scratch + "/apps/.media"
            #expect(try request.site(settings: settings).media == nil, "no such directory here: proxied to the app")
            try FileSystem.makeDirectories(scratch + "/apps/.media/shop", mode: 0o755)
            #expect(try request.site(settings: settings).media
                == NginxSite.Media(url: "/media/", directory: scratch + "/apps/.media/shop"))
            settings.mediaRoot = nil
            #expect(try request.site(settings: settings).media == nil)
        }
    }

    @Test(.enabled(if: getuid() == 0))
    func nginxServesTheMediaDirectoryAndRefusesALinkToAnotherOwnersFile() async throws {
        try await withProxyHost { host in
            var settings = host.settings
            settings.mediaRoot = host.scratch + "/media"
            let directory = host.scratch + "/media/shop"
            try FileSystem.makeDirectories(directory, mode: 0o755)
            try "uploaded\n".write(toFile: directory + "/a.txt", atomically: true, encoding: .utf8)
            #expect(chmod(directory + "/a.txt", 0o644) == 0)
            #expect(symlink("a.txt", directory + "/same-owner.txt") == 0)
            #expect(symlink("/etc/passwd", directory + "/passwd.txt") == 0)
            #expect(lchown(directory + "/passwd.txt", 65534, 65534) == 0)
            var args = host.arguments(project: "shop", bundle: "bundle_shop_1", hostnames: ["shop.test"],
                                      ports: [try FreePort.loopback()], static: [], sha256: nil)
            args["media_url"] = .string("/files/")
            let handler = ProxyUpdateHandler(workspace: host.workspace, store: host.store, settings: settings)
            let output = try await handler.run(try proxyContext("proxy_update", args))
            #expect(output["media"] == .object(["url": .string("/files/"), "directory": .string(directory)]))
            let served = try await host.nginx.get("/files/a.txt", host: "shop.test")
            #expect(served.status == 200 && served.body == "uploaded\n", "\(served)")
            #expect(served.headers["x-content-type-options"] == "nosniff")
            #expect(try await host.nginx.get("/files/same-owner.txt", host: "shop.test").status == 200)
            let refused = try await host.nginx.get("/files/passwd.txt", host: "shop.test")
            #expect(refused.status == 403 && !refused.body.contains("root:"), "\(refused)")
        }
    }

    @Test func theMediaGroupComesFromTheFlagThenTheEnvironmentThenWwwData() throws {
        let workspace = Workspace(root: "/srv/dz")
        #expect(try AppServerSettings.resolve(workspace: workspace, environment: [:]).mediaGroup == "www-data")
        #expect(try AppServerSettings.resolve(workspace: workspace, environment: ["DZ_MEDIA_GROUP": "nginx"])
            .mediaGroup == "nginx")
        #expect(try AppServerSettings.resolve(mediaGroup: "http", workspace: workspace,
                                              environment: ["DZ_MEDIA_GROUP": "nginx"]).mediaGroup == "http")
        for bad in ["-x", "a b", "a;b", String(repeating: "g", count: 33), "ü"] {
            #expect(throws: DeployError.self, "\(bad)") {
                try AppServerSettings.resolve(mediaGroup: bad, workspace: workspace, environment: [:])
            }
        }
        #expect(try AppServerSettings.resolve(workspace: workspace, environment: [:]).mediaRoot == "/srv/dz/apps/.media")
    }

    // MARK: The directory

    @Test(.enabled(if: getuid() == 0))
    func theMediaDirectoryIsTheAppsAndNginxsAndItsRemovalFollowsNoLink() async throws {
        try await FixtureSupport.withScratchDirectory { scratch in
            let settings = AppServerSettings(workspace: Workspace(root: scratch), appsRoot: scratch + "/apps")
            try FileSystem.makeDirectories(settings.appsRoot, mode: 0o711)
            let user = AppUser(name: "nobody", uid: 65534, gid: 65534, switches: true)
            let media = MediaDirectory(settings: settings, project: try ProjectID("shop"))
            let path = try media.prepare(user: user)
            #expect(path == scratch + "/apps/.media/shop")
            var st = stat()
            #expect(lstat(scratch + "/apps/.media", &st) == 0 && st.st_uid == 0 && st.st_mode & 0o7777 == 0o711)
            let nginxGroup = try #require(Host.groupID(named: "www-data"))
            #expect(lstat(path, &st) == 0 && st.st_uid == 65534 && st.st_gid == nginxGroup
                    && st.st_mode & 0o7777 == 0o2750)

            // A file outside, and what an app could leave in its media directory pointing at it.
            try "keep\n".write(toFile: scratch + "/outside.txt", atomically: true, encoding: .utf8)
            try FileSystem.makeDirectory(scratch + "/outside", mode: 0o755)
            try "keep\n".write(toFile: scratch + "/outside/inner.txt", atomically: true, encoding: .utf8)
            try FileSystem.makeDirectory(path + "/uploads", mode: 0o755)
            try "upload\n".write(toFile: path + "/uploads/a.txt", atomically: true, encoding: .utf8)
            #expect(symlink(scratch + "/outside.txt", path + "/uploads/file-link") == 0)
            #expect(symlink(scratch + "/outside", path + "/dir-link") == 0)

            // A second deploy puts back what the app changed.
            #expect(chmod(path, 0o777) == 0)
            try media.prepare(user: user)
            #expect(lstat(path, &st) == 0 && st.st_mode & 0o7777 == 0o2750)

            let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
            #expect(try media.remove(logger: logger))
            #expect(!FileSystem.exists(path))
            #expect(try FileSystem.names(in: settings.mediaRoot).isEmpty, "nothing left aside")
            #expect(FileSystem.exists(scratch + "/outside.txt") && FileSystem.exists(scratch + "/outside/inner.txt"))
            #expect(try media.remove(logger: logger) == false, "removing what is not there is no error")
        }
    }
}

extension NginxSite.Media: CustomStringConvertible {
    public var description: String { "\(url) -> \(directory)" }
}
