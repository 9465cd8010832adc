import DZSpool
import DZSystem
import DZTestSupport
import Foundation
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension Integration {
    /// Media on several appservers, the way dz(1) Media documents: one directory shared by the hosts (NFS in
    /// production, a bind mount here) mounted at `<apps-root>/.media` on every appserver and on the proxy's host.
    /// Two appservers (each its own data directory, ports and agent, as two hosts would have), the proxy on the
    /// first: what an instance on either stores, every instance sees and nginx serves; `undeploy --drop-data`
    /// removes it once although both appservers run `drop_media` on the same directory.
    @Suite(.serialized) struct SharedMediaTests {
        @Test(.timeLimit(.minutes(30)), .enabled(if: getuid() == 0))
        func anUploadToEitherAppserverIsSeenByBothAndServedByTheProxyThroughASharedMediaDirectory() async throws {
            try await DeployTests.Cluster.with(appPorts: ["app1": "32000-32999", "app2": "33000-33999"],
                                               appservers: ["app1", "app2"], proxyHost: "app1") { cluster in
                let shared = cluster.spool.directory + "/shared-media"
                let mountPoints = ["app1", "app2"].map { cluster.spool.directory + "/var-\($0)/apps/.media" }
                try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: false,
                                                        attributes: [.posixPermissions: 0o711])
                var mounted: [String] = []
                do {
                    for point in mountPoints {
                        try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
                        try await Self.run(["/usr/bin/mount", "--bind", shared, point])
                        mounted.append(point)
                    }
                    try await story(cluster, shared: shared)
                } catch {
                    await Self.unmount(mounted)
                    throw error
                }
                await Self.unmount(mounted)
            }
        }

        func story(_ cluster: DeployTests.Cluster, shared: String) async throws {
            try cluster.write(MediaTests.uploads, to: "hello/uploads.py")
            try cluster.write(MediaTests.urls, to: "hello/urls.py")
            try await cluster.commit("uploads")
            let (job, deployed) = try await cluster.deploy()
            #expect(deployed.status == 0, "\(deployed)")
            let instances = DeployTests.instances(try await cluster.show(job))
            let hosts = ["app1", "app2"]
            let byHost = hosts.compactMap { host in instances.first { $0.instance.contains(".\(host).") } }
            try #require(byHost.count == 2, "one instance on each appserver: \(instances)")

            // Each instance stores a file (straight to its gunicorn, so which appserver wrote it is certain).
            var stored: [(url: String, content: String)] = []
            for (host, instance) in zip(hosts, byHost) {
                let content = "stored on \(host) \(UInt32.random(in: 0...UInt32.max))\n"
                let url = try await MediaTests.upload(content, named: "from-\(host).txt", port: instance.port,
                                                      scratch: cluster.spool.directory)
                #expect(url == "/media/uploads/from-\(host).txt", "\(url)")
                stored.append((url, content))
            }

            // Both files are in the one shared directory, and every instance lists both.
            for host in hosts {
                let written = try String(contentsOfFile: shared + "/hello/uploads/from-\(host).txt", encoding: .utf8)
                #expect(written.hasPrefix("stored on \(host) "))
            }
            for instance in byHost {
                let listing = await DeployTests.get("/uploads", host: DeployTests.hostname, port: instance.port)
                #expect(listing == (200, "one:from-app1.txt,from-app2.txt"), "\(instance.instance): \(listing)")
            }

            // nginx on app1 serves both, the one app2 stored too, from the shared directory.
            for (url, content) in stored {
                let served = try await NginxServer.get(url, host: DeployTests.hostname, port: cluster.nginx.port)
                #expect(served.status == 200 && served.body == content, "\(url): \(served)")
            }

            // undeploy --drop-data: both appservers run drop_media on the same directory; the one that comes
            // second finds it gone, and the job still succeeds. Nothing is left in the shared directory.
            let drop = try await cluster.spool.dz(["undeploy", "--project", "hello", "--drop-data"], timeout: 300)
            #expect(drop.status == 0, "\(drop)")
            let line = drop.stdout.split(separator: "\n").first { $0.hasPrefix("job ") } ?? ""
            let dropJob = try #require(line.dropFirst(4).split(separator: ":").first, "\(drop)")
            let result = try #require(try await cluster.show(String(dropJob))["result"]?.objectValue)
            #expect(result["media_dropped"]?.arrayValue?.count == 1, "dropped once, by one appserver: \(result)")
            #expect(!FileSystem.exists(shared + "/hello"), "the project's media are gone")
            #expect(((try? FileSystem.names(in: shared)) ?? ["unreadable"]).isEmpty, "nothing is left aside")
        }

        static func run(_ arguments: [String]) async throws {
            let outcome = try await Subprocess.run(arguments, environment: ["PATH": "/usr/bin:/bin"], timeout: 60)
            guard outcome.succeeded else { throw SetupFailure("\(arguments.joined(separator: " ")): \(outcome.tail())") }
        }

        /// Detaches the bind mounts (lazily, so a process still in one does not keep the spool's removal from
        /// going through it into the shared directory).
        static func unmount(_ points: [String]) async {
            for point in points.reversed() { _ = try? await run(["/usr/bin/umount", "-l", point]) }
        }
    }
}
