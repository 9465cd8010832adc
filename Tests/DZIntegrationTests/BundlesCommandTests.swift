import DZSpool
import DZStore
import Foundation
import Testing

extension Integration {
    /// `dz bundles list` and `dz bundles delete` against a real coordinator and build agent, with a bundle store
    /// in a directory (`file://`) and a zoomdb seeded with bundles and deployments: no build, no deploy.
    @Suite(.serialized) struct BundlesCommandTests {
        /// `dz bundles <sub> --spool <root> <rest...>`.
        func bundles(_ spool: TestSpool, _ sub: String, _ rest: [String], timeout: Double = 120) async throws
            -> CommandResult
        {
            try await spool.dz(["bundles", sub] + rest, timeout: timeout)
        }

        /// The archive and manifest of `bundle` in the store, written as bundle_upload leaves them.
        func store(_ bundle: String, of project: String, in store: String) throws -> String {
            let archive = store + "/" + project + "/" + bundle + ".tar.zst"
            try FileManager.default.createDirectory(atPath: store + "/" + project, withIntermediateDirectories: true)
            for path in [archive, archive + ".manifest.json"] {
                guard FileManager.default.createFile(atPath: path, contents: Data("x".utf8)) else {
                    throw SetupFailure("cannot write \(path)")
                }
            }
            return archive
        }

        func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

        @Test(.timeLimit(.minutes(3)))
        func deleteRefusesADeployedBundleAndDeletesAnUnusedOne() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let storeRoot = spool.directory + "/store"
            let unused = try store("bundle_hello_1", of: "hello", in: storeRoot)
            let deployed = try store("bundle_hello_2", of: "hello", in: storeRoot)
            let foreign = try store("bundle_blog_1", of: "blog", in: storeRoot)
            do {
                let db = try ZoomDB(path: spool.zoomdbPath)
                for (project, name, size) in [("hello", "bundle_hello_1", 1536), ("hello", "bundle_hello_2", 2 << 20),
                                              ("blog", "bundle_blog_1", 10)] {
                    try db.recordBundle(project: project, name: name, codeRevision: "0123456789abcdef", sha256: nil,
                                        size: Int64(size), storageURL: "file://" + storeRoot + "/" + project + "/" + name)
                }
                try db.recordDeployment(DeploymentRecord(project: "hello", bundle: "bundle_hello_2", appserver: "app1",
                                                         instance: "bundle_hello_2.app1.10001", host: "127.0.0.1",
                                                         port: 10001))
            }
            _ = try await JobTests.Cluster.startCoordinator(spool)
            _ = try await spool.startAgent(host: "builder", queues: "build", [
                "--rescan", "500ms", "--no-fsync", "--bundle-store", "file://" + storeRoot,
                "--data-dir", spool.directory + "/var-builder",
            ])

            let table = try await bundles(spool, "list", ["--project", "hello"])
            #expect(table.status == 0, "\(table)")
            let lines = table.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first?.hasPrefix("NAME") == true && lines.count == 3, "\(table)")
            #expect(lines.contains { $0.hasPrefix("bundle_hello_1") && $0.contains("1.5K") && $0.contains(" no ") },
                    "\(table)")
            #expect(lines.contains { $0.hasPrefix("bundle_hello_2") && $0.contains("2.0M") && $0.contains(" yes ") },
                    "\(table)")
            #expect(lines.allSatisfy { !$0.contains("blog") }, "only the project's bundles")

            // A deployed bundle among those named: the job fails and nothing is deleted.
            let refused = try await bundles(spool, "delete", ["--project", "hello", "bundle_hello_1", "bundle_hello_2"])
            #expect(refused.status == 1, "\(refused)")
            #expect(refused.stdout.contains("bundle_hello_2 is deployed") && refused.stdout.contains("nothing deleted"),
                    "\(refused)")
            #expect(exists(unused) && exists(unused + ".manifest.json") && exists(deployed))

            // Another project's bundle is refused too.
            let other = try await bundles(spool, "delete", ["--project", "hello", "bundle_blog_1"])
            #expect(other.status == 1, "\(other)")
            #expect(other.stdout.contains("not bundles of project hello: bundle_blog_1 (project blog)"), "\(other)")
            #expect(exists(foreign))

            let done = try await bundles(spool, "delete", ["--project", "hello", "bundle_hello_1"])
            #expect(done.status == 0, "\(done)")
            #expect(done.stdout.contains("deleted bundle_hello_1\n1 bundle(s) deleted"), "\(done)")
            #expect(!exists(unused) && !exists(unused + ".manifest.json"), "archive and manifest removed")
            #expect(exists(deployed) && exists(deployed + ".manifest.json"), "the deployed bundle stays")

            let listed = try await bundles(spool, "list", ["--project", "hello", "--json"])
            #expect(listed.status == 0, "\(listed)")
            let rows = try #require(try JSONValue.parse(Array(listed.stdout.utf8)).arrayValue)
            let byName = Dictionary(rows.compactMap { row in row["name"]?.stringValue.map { ($0, row) } }) { a, _ in a }
            #expect(byName["bundle_hello_1"]?["deleted"]?.stringValue != nil, "\(listed)")
            #expect(byName["bundle_hello_1"]?["deployed"] == .bool(false))
            #expect(byName["bundle_hello_2"]?["deleted"] == .null)
            #expect(byName["bundle_hello_2"]?["deployed"] == .bool(true))

            let none = try await bundles(spool, "list", ["--project", "shop"])
            #expect(none.status == 1 && none.stderr.contains("no bundles of project shop"), "\(none)")
        }
    }
}
