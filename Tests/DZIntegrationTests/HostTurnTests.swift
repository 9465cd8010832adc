import DZSpool
import DZSystem
import Foundation
import Testing

extension Integration {
    /// Four real agents of one host id on one queue take turns listening (one flock per spool, host and queue in
    /// --turn-dir): every task runs once and each agent claims in name order; a holder frozen by SIGSTOP keeps the
    /// lock, yet the others take every drop at their rescans (the documented bound: two --rescan intervals); a
    /// holder killed by SIGKILL loses the lock to another at once.
    @Suite(.serialized) struct HostTurnTests {
        static let agentCount = 4

        /// The pid holding the flock on `path` (not a waiter: those lines read `->`), from /proc/locks.
        static func lockHolder(_ path: String) -> Int32? {
            guard let status = try? FileSystem.linkStatus(path),
                  let text = try? String(contentsOfFile: "/proc/locks", encoding: .utf8) else { return nil }
            for line in text.split(separator: "\n") where !line.contains("->") {
                let fields = line.split(separator: " ")
                guard fields.count >= 6, fields[1] == "FLOCK",
                      fields[5].split(separator: ":").last.map({ UInt64($0) == status.inode }) == true else { continue }
                return Int32(fields[4])
            }
            return nil
        }

        /// Whether every thread of `pid` is stopped (state `T` in each `/proc/<pid>/task/<tid>/stat`): `kill`
        /// returns before a running thread on another core has stopped, and until then it may still claim.
        static func isStopped(_ pid: Int32) -> Bool {
            guard let threads = try? FileSystem.names(in: "/proc/\(pid)/task"), !threads.isEmpty else { return false }
            return threads.allSatisfy { thread in
                guard let stat = try? String(contentsOfFile: "/proc/\(pid)/task/\(thread)/stat", encoding: .utf8),
                      let close = stat.lastIndex(of: ")") else { return false }
                let state = stat[stat.index(after: close)...].split(separator: " ").first
                return state == "T" || state == "t"
            }
        }

        @Test(.timeLimit(.minutes(8)))
        func agentsOfOneHostTakeTurnsAndAFrozenOrKilledHolderStallsNoOne() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let turnDir = spool.root + ".turns"
            defer { try? FileManager.default.removeItem(atPath: turnDir) }
            let dropper = Spool(root: spool.root, host: try HostID("dropper"), sync: false)
            var ids: [String] = []
            func dropTasks(_ count: Int) throws { ids += try spool.dropTasks(count, by: dropper) }
            func settleAll(_ what: String, _ agents: [DZProcess]) async throws {
                let settled = await waitUntil(timeout: 120, every: 0.1) {
                    spool.dayNames("build", "done").count >= ids.count
                        && spool.names("build", "new").isEmpty && spool.names("build", "cur").isEmpty
                }
                try #require(settled, """
                    \(what): not settled within 120 s: done \(spool.dayNames("build", "done").count) of \(ids.count), \
                    new \(spool.names("build", "new").count), cur \(spool.names("build", "cur").count)
                    \(agents.map(\.errorTail).joined(separator: "\n"))
                    """)
            }

            var agents: [DZProcess] = []
            for _ in 1...Self.agentCount {
                agents.append(try await spool.startAgent(host: "shared", [
                    "--concurrency", "1", "--no-fsync", "--rescan", "1s", "--turn-dir", turnDir,
                ]))
            }
            defer { agents.forEach { $0.send(SIGCONT); $0.kill() } }
            let spoolID = try #require(try? String(contentsOfFile: spool.root + "/spool.id", encoding: .utf8))
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let lock = turnDir + "/\(spoolID).shared.build.turn"
            func holder(among agents: [DZProcess]) async -> DZProcess? {
                var found: DZProcess?
                _ = await waitUntil(timeout: 60, every: 0.05) {
                    found = Self.lockHolder(lock).flatMap { pid in agents.first { $0.pid == pid } }
                    return found != nil
                }
                return found
            }

            // 1. All four running: the drops go to whoever holds the turn, handed on while it is busy.
            try dropTasks(200)
            try await settleAll("all four running", agents)

            // 2. The holder frozen while it holds the turn: the lock stays its own, and the other three take every
            // drop at their rescans.
            let frozen = try #require(await holder(among: agents), "no agent holds \(lock)")
            frozen.send(SIGSTOP)
            try #require(await waitUntil(timeout: 30) { Self.isStopped(frozen.pid) }, "agent \(frozen.pid) did not stop")
            try dropTasks(100)
            try await settleAll("holder frozen", agents)
            #expect(Self.lockHolder(lock) == frozen.pid, "the frozen agent no longer holds the turn")
            let frozenClaims = spool.records(event: "claimed").filter { $0["pid"] == String(frozen.pid) }
                .map { $0["task"] ?? "" }
            #expect(Set(frozenClaims).isDisjoint(with: ids.suffix(100)), "the frozen agent claimed a task")
            frozen.send(SIGCONT)

            // 3. The holder killed: the kernel releases its lock, another agent takes the turn.
            let killed = try #require(await holder(among: agents), "no agent holds \(lock)")
            killed.kill()
            let survivors = agents.filter { $0.pid != killed.pid }
            try dropTasks(100)
            try await settleAll("holder killed", survivors)
            let successor = await holder(among: survivors)
            #expect(successor != nil, "no surviving agent took the turn")
            await spool.terminate(survivors)

            // Every id claimed, finished and in done/ exactly once; nothing failed.
            #expect(Set(spool.dayNames("build", "done").map { String($0.dropLast(5)) }) == Set(ids))
            #expect(spool.dayNames("build", "done").count == ids.count)
            #expect(spool.dayFiles("build", "failed").isEmpty)
            var claimed: [String: Int] = [:]
            for record in spool.records(event: "claimed") where record["queue"] == "build" {
                claimed[record["task"] ?? "", default: 0] += 1
            }
            #expect(Set(claimed.keys) == Set(ids))
            #expect(claimed.filter { $0.value != 1 }.isEmpty, "claimed more than once: \(claimed.filter { $0.value != 1 })")
            var finished: [String: Int] = [:]
            for record in spool.records(event: "finished") { finished[record["task"] ?? "", default: 0] += 1 }
            #expect(finished.filter { $0.value != 1 }.isEmpty && Set(finished.keys) == Set(ids))

            // FIFO by name: each agent claimed the ids it ran in rising order.
            var byAgent: [String: [String]] = [:]
            for record in spool.records(event: "claimed") where record["queue"] == "build" {
                byAgent[record["pid"] ?? "", default: []].append(record["task"] ?? "")
            }
            for (pid, claims) in byAgent {
                let outOfOrder = zip(claims, claims.dropFirst()).filter { $0.0 >= $0.1 }
                #expect(outOfOrder.isEmpty, "agent \(pid) claimed out of name order: \(outOfOrder.prefix(3))")
            }
            print("HostTurnTests: tasks per agent \(byAgent.mapValues(\.count).sorted { $0.key < $1.key }); frozen \(frozen.pid), killed \(killed.pid), successor \(successor?.pid ?? 0)")
        }
    }
}
