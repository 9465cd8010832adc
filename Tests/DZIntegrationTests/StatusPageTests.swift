import DZSpool
import DZSystem
import DZTestSupport
import Foundation
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension Integration {
    /// The coordinator's status page, served by a real nginx with etc/nginx/dz-status.conf and read by a real
    /// headless Chromium (Debian's `chromium`): it shows a running job's steps, hosts and log, and follows the job
    /// to its end. A failing run keeps a screenshot (its path is in the failure message).
    @Suite(.serialized) struct StatusPageTests {
        static let chromium = "/usr/bin/chromium"

        /// The repository's etc/nginx/dz-status.conf, found from this file's path.
        static func siteTemplate() throws -> String {
            let here = URL(fileURLWithPath: #filePath)
            let file = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("etc/nginx/dz-status.conf")
            return try String(contentsOf: file, encoding: .utf8)
        }

        /// `chromium --headless` with `arguments`, its output.
        static func chromium(_ spool: TestSpool, _ profile: String, _ arguments: [String]) async throws -> CommandResult {
            try await spool.tool(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + profile]
                                 + arguments, timeout: 120)
        }

        /// The DOM after the page's script has read status.json.
        static func dom(_ spool: TestSpool, _ profile: String, _ url: String) async throws -> String {
            try await chromium(spool, profile, ["--virtual-time-budget=3000", "--dump-dom", url]).stdout
        }

        @Test(.timeLimit(.minutes(6)))
        func thePageShowsARunningJobsStepsAndFollowsItToTheEnd() async throws {
            guard FileManager.default.isExecutableFile(atPath: Self.chromium) else {
                throw SetupFailure("no \(Self.chromium): apt-get install -y chromium")
            }
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let statusDir = "/tmp/dz-status-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: statusDir) }
            try Spool(root: spool.root, host: HostID("tester"), sync: false).create(QueueName("appserver_app1"))
            let coordinator = try spool.start(["coordinator", "--rescan", "200ms", "--no-fsync", "--status-dir", statusDir],
                                              label: "coordinator")
            for (host, queues) in [("builder", "build,database"), ("frontend", "proxy"), ("app1", "appserver_app1")] {
                _ = try await spool.startAgent(host: host, queues: queues,
                                               ["--rescan", "500ms", "--no-fsync", "--data-dir", spool.directory + "/var-" + host])
            }
            // A secret in the project's configuration: its name may be on the page, its value never.
            let secret = "s3cr3t-\(UInt32.random(in: 0...UInt32.max))"
            let set = try await spool.dz(["config", "set", "--project", "demo", "API_TOKEN", "--no-restart"],
                                         stdin: Array((secret + "\n").utf8))
            try #require(set.status == 0, "\(set)")

            let nginx = try await NginxServer.start()
            defer { Task { await nginx.stop() } }
            let site = try Self.siteTemplate()
                .replacingOccurrences(of: "listen 127.0.0.1:8089;", with: "listen 127.0.0.1:\(nginx.port);")
                .replacingOccurrences(of: "listen [::1]:8089;", with: "")
                .replacingOccurrences(of: "server_name _;", with: "server_name 127.0.0.1;")
                .replacingOccurrences(of: "root /run/dz-status;", with: "root \(statusDir);")
            try FileIO.create(nginx.sitesDirectory + "/dz-status.conf", bytes: Array(site.utf8), mode: 0o644, sync: false)
            let workers = nginx.workerPIDs()
            try await nginx.reload()
            try await nginx.waitForReload(replacing: workers)
            let written = await waitUntil(timeout: 60) { FileManager.default.fileExists(atPath: statusDir + "/status.json") }
            try #require(written, "no status.json\n\(coordinator.errorTail)")
            let index = try await nginx.get("/", host: "127.0.0.1")
            try #require(index.status == 200 && index.body.contains("dz status"), "\(index)\n\(nginx.errorLog())")
            let json = try await nginx.get("/status.json", host: "127.0.0.1")
            #expect(json.headers["cache-control"] == "no-store", "status.json: \(json) \(json.headers)")

            let submitted = try await spool.dz(["job", "submit", "selftest", "--project", "demo",
                                                "--param", "slow=bundle:20"])
            try #require(submitted.status == 0, "\(submitted)")
            let id = submitted.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let url = "http://127.0.0.1:\(nginx.port)/#job=\(id)"
            let profile = spool.directory + "/chromium"
            var problems: [String] = []

            // While bundle sleeps: the page shows the job running, checkout done on the build host, bundle running.
            var running = ""
            let sawRunning = await eventually(timeout: 90, every: 0.5) {
                running = (try? await Self.dom(spool, profile, url)) ?? ""
                return running.contains(#"data-step="bundle" data-state="running""#)
            }
            if !sawRunning { problems.append("never saw bundle running on the page") }
            for needle in [#"data-job="\#(id)" data-state="running""#, #"data-step="checkout" data-state="succeeded""#,
                           ">builder<", "selftest", #"data-host="app1""#, #"data-queue="build""#, ">API_TOKEN=••••<"]
                where sawRunning && !running.contains(needle)
            {
                problems.append("the page of the running job lacks \(needle)")
            }

            // One page, left open, follows the job to its end: its title says the state as the script reads it.
            let port = try FreePort.loopback()
            let follower = try DZProcess(label: "chromium-follow", arguments: [
                "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + profile + "-follow",
                "--remote-debugging-port=\(port)", url,
            ], logDirectory: spool.logDirectory, executable: Self.chromium)
            defer { follower.kill() }
            var titles: [String] = []
            let ended = await eventually(timeout: 180, every: 0.5) {
                let list = (try? await spool.tool("/usr/bin/curl", ["-s", "--max-time", "5", "http://127.0.0.1:\(port)/json/list"]))?.stdout ?? ""
                guard let pages = (try? JSONSerialization.jsonObject(with: Data(list.utf8))) as? [[String: Any]] else { return false }
                for page in pages {
                    if let title = page["title"] as? String, title.hasPrefix("dz job"), titles.last != title { titles.append(title) }
                }
                return titles.last?.contains(": succeeded") == true || titles.last?.contains(": failed") == true
            }
            if !ended { problems.append("the open page never showed the job's end: titles \(titles)") }
            if let last = titles.last, !last.hasPrefix("dz job \(id): succeeded") { problems.append("it ended as \(last)") }
            if !titles.contains(where: { $0.contains(": running") }) {
                problems.append("the open page never showed the job running: \(titles)")
            }

            let finished = try await Self.dom(spool, profile, url)
            for step in ["checkout", "bundle", "create_database", "upload", "placement", "deploy.0", "post_deploy_hooks",
                         "proxy_update", "retire_old"] where !finished.contains(#"data-step="\#(step)" data-state="succeeded""#)
            {
                problems.append("the finished job's step \(step) is not shown succeeded")
            }
            if !finished.contains("class=\"log\"") { problems.append("no log on the finished job's page") }
            let data = (try? String(contentsOfFile: statusDir + "/status.json", encoding: .utf8)) ?? ""
            for text in [running, finished, data] where text.contains(secret) {
                problems.append("the secret value is on the page")
            }
            if !data.contains("API_TOKEN") { problems.append("status.json lacks the configuration's names") }

            if !problems.isEmpty {
                let kept = "/tmp/dz-status-page-failure-\(Int(Date().timeIntervalSince1970)).png"
                _ = try? await Self.chromium(spool, profile, ["--window-size=1280,2400", "--virtual-time-budget=3000",
                                                              "--screenshot=" + kept, url])
                Issue.record("""
                    \(problems.joined(separator: "\n"))
                    screenshot kept: \(kept)
                    titles seen: \(titles)
                    \(coordinator.errorTail)
                    """)
            }
        }
    }
}
