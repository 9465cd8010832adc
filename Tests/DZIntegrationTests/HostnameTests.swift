import DZSpool
import DZStore
import Foundation
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension Integration {
    /// Host names through the real coordinator and the `dz` commands: refused names fail at once, and of two
    /// projects adding one name (or a name and a wildcard over it) at once, exactly one gets it.
    @Suite(.serialized) struct HostnameTests {
        @Test(.timeLimit(.minutes(1)))
        func refusedNamesFailBeforeAnyJobIsSubmitted() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            for (words, reason) in [
                (["hostnames", "--project", "shop", "add", "*.com"], "public suffix"),
                (["hostnames", "--project", "shop", "add", "co.uk"], "public suffix"),
                (["hostnames", "--project", "shop", "add", "*.amazonaws.com"], "public suffixes"),
                (["hostnames", "--project", "shop", "add", "127.0.0.1"], "IP address"),
                (["hostnames", "--project", "shop", "add", "[::1]"], "IPv6"),
                (["hostnames", "--project", "shop", "add", "localhost"], "the machine itself"),
                (["hostnames", "--project", "shop", "add", "*.localhost"], "the machine itself"),
                (["hostnames", "--project", "shop", "add", "blog.localhost"], "shop may use shop.localhost"),
                (["deploy", "/tmp/x", "--project", "ok", "--hostname", "10.0.0.1"], "IP address"),
                (["deploy", "/tmp/x", "--project", "ok", "--hostname", "*.github.io"], "public suffix"),
            ] {
                let result = try await spool.dz(words)
                #expect(result.status == 64, "\(words): \(result)")
                #expect(result.stderr.contains(reason), "\(words): \(result.stderr)")
            }
            #expect(spool.names("jobs", "new").isEmpty, "nothing submitted")
        }

        @Test(.timeLimit(.minutes(1)))
        func theCoordinatorWillNotStartWithoutThePublicSuffixList() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let result = try await spool.dz(["coordinator", "--public-suffix-list", spool.directory + "/none.dat"])
            #expect(result.status == 64, "\(result)")
            #expect(result.stderr.contains("cannot read the public suffix list"), "\(result.stderr)")
            #expect(result.stderr.contains("apt-get install publicsuffix"), "\(result.stderr)")
        }

        /// Both jobs are submitted and planned (their placements wait in `build/new/`, nobody serving it yet)
        /// before any placement runs, so that both pass the check at planning: the claim, when each placement's
        /// result comes in, decides. The appserver placement chooses is a heartbeat whose queue nobody serves, so
        /// the winner stops at deploy and is cancelled.
        @Test(.timeLimit(.minutes(4)))
        func ofTwoProjectsAddingOneNameAtOnceExactlyOneGetsIt() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let db = try ZoomDB(path: spool.zoomdbPath)
            for project in ["shop", "blog"] {
                try db.recordRelease(ReleaseRecord(
                    project: project, kind: "build_and_deploy", bundle: "bundle_\(project)_1", sha256: "aaa",
                    revision: "r1", wsgi: "\(project).wsgi", staticFiles: .array([]),
                    hostnames: ["\(project).example.com"], configVersion: 0, instances: 1, workers: 1,
                    result: "succeeded", job: "D-\(project)"))
                try db.setHostnames(of: project, ["\(project).example.com"])
            }
            let writer = Spool(root: spool.root, host: try HostID("tester"), sync: false)
            try writer.create(QueueName("appserver_app1"))
            let coordinator = try await JobTests.Cluster.startCoordinator(spool)
            _ = coordinator

            for (round, (shopAdds, blogAdds)) in [("race.test", "race.test"), ("*.wild.test", "www.wild.test"),
                                                  ("a.deep.test", "*.deep.test")].enumerated() {
                try writer.write(Heartbeat(host: try HostID("app1"), pid: 1, version: "test",
                                           queues: [QueueName("appserver_app1")], running: [], concurrency: 1,
                                           started: .now()))
                var ids: [String: String] = [:]
                for (project, add) in [("shop", shopAdds), ("blog", blogAdds)] {
                    let result = try await spool.dz(["job", "submit", "hostnames", "--project", project,
                                                     "--param", "add=" + add])
                    #expect(result.status == 0, "\(result)")
                    ids[project] = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                }
                // Both placements planned and waiting.
                let planned = await waitUntil(timeout: 60) {
                    spool.names("build", "new").filter { $0.hasSuffix(".placement.json") }.count == 2
                }
                #expect(planned, "round \(round): both placements waiting: \(spool.names("build", "new"))")

                let agent = try await spool.startAgent(host: "builder", queues: "build",
                                                       ["--rescan", "500ms", "--no-fsync"])
                var outcomes: [String: [String: JSONValue]] = [:]
                let decided = try await eventually(timeout: 90) {
                    for (project, id) in ids where outcomes[project] == nil {
                        let shown = try await spool.dz(["job", "show", id, "--json"])
                        guard shown.status == 0, let job = try JSONValue.parse(Array(shown.stdout.utf8)).objectValue
                        else { continue }
                        let steps = JobTests.steps(job)
                        if job["state"]?.stringValue == "failed" || steps["deploy.0"] != nil { outcomes[project] = job }
                    }
                    return outcomes.count == 2
                }
                #expect(decided, "round \(round): both jobs decided")
                agent.send(SIGTERM)
                _ = await agent.waitForExit(timeout: 30)

                let winners = outcomes.filter { JobTests.steps($0.value)["placement"]?["state"] == .string("succeeded") }
                let losers = outcomes.filter { $0.value["state"] == .string("failed") }
                #expect(winners.count == 1 && losers.count == 1,
                        "round \(round): exactly one wins: \(outcomes.mapValues { $0["error"] ?? .null })")
                if let loser = losers.first {
                    let placement = JobTests.steps(loser.value)["placement"]
                    #expect(placement?["error_kind"] == .string("hostname-taken"), "\(placement ?? [:])")
                    #expect(placement?["error"]?.stringValue?.contains("is being put live by job") == true)
                }
                // The winner would deploy; it is cancelled, and nothing it claimed stays claimed.
                if let winner = winners.first, let id = ids[winner.key] {
                    _ = try await spool.dz(["job", "cancel", id])
                    let ended = try await spool.dz(["job", "wait", id, "--timeout", "60s"], timeout: 90)
                    #expect(ended.status == 1, "\(ended)")
                }
                for id in ids.values { #expect(try db.hostnameClaims(of: id).isEmpty, "\(id)'s claims released") }
            }
            #expect(try db.hostnames(of: "shop") == ["shop.example.com"])
            #expect(try db.hostnames(of: "blog") == ["blog.example.com"])
        }
    }
}
