import Foundation
import Testing

extension Integration {
    /// `dz bench` end to end, small: every table is printed with figures, every measurement's spool removed.
    /// (What the figures are is the machine's business: nothing here asserts a speed.)
    @Suite(.serialized) struct BenchCommandTests {
        @Test func benchMeasuresEachRowAndCleansUp() async throws {
            let spool = try TestSpool()
            defer { spool.cleanUp() }
            let result = try await spool.dz(["bench", "--tasks", "200", "--fsync-tasks", "20", "--agents", "1,2",
                                             "--trickle", "5", "--repeats", "2", "--jobs", "5",
                                             "--deep-backlog", "1000", "--full-done", "2000"], timeout: 420)
            #expect(result.status == 0, "\(result)")
            let lines = result.stdout.split(separator: "\n").map(String.init)
            func columns(_ line: String) -> [String] { line.split(separator: " ").map(String.init) }

            // round trip rows: agents, fsync, tasks, runs, enqueue/s, seconds, rate, range, floor/s, share, and the
            // agents' CPU microseconds per task.
            let roundTrips = lines.filter { $0.hasPrefix("round trip  ") }.map(columns)
            #expect(roundTrips.count == 4, "\(result.stdout)")
            for row in roundTrips {
                #expect(row.count == 13, "\(row)")
                guard row.count == 13 else { continue }
                #expect(["1", "2"].contains(row[2]) && ["on", "off"].contains(row[3]) && row[5] == "2", "\(row)")
                #expect((Double(row[8]) ?? 0) > 0 && (Double(row[10]) ?? 0) > 0 && row[11].hasSuffix("%"), "\(row)")
                #expect((Double(row[12]) ?? 0) > 0, "\(row)")
            }
            let backlogs = lines.filter { $0.hasPrefix("backlog ") }.map(columns)
            // agents, fsync, ..., rate, range, baseline, share: without fsync 2 agents against 1, with fsync each
            // against as many agents without.
            #expect(backlogs.map { $0[1] + "/" + $0[2] } == ["1/off", "2/off", "1/on", "2/on"], "\(result.stdout)")
            #expect(backlogs.allSatisfy { $0.count == 12 && (Double($0[7]) ?? 0) > 0 }, "\(backlogs)")
            #expect(backlogs.map { $0[10].hasSuffix("%") } == [false, true, true, true], "\(backlogs)")

            let latencies = lines.filter { $0.hasPrefix("pickup:") || $0.hasPrefix("round trip: ") }
            #expect(latencies.count == 4, "\(result.stdout)")
            let jobs = lines.filter { $0.hasPrefix("through the coordinator") }.map(columns)
            // through the coordinator, fsync, agents, jobs, steps, seconds, jobs/s, failed, and the CPU
            // milliseconds per job of the coordinator and of the agents: without fsync and with
            #expect(jobs.map { $0.count == 12 ? $0[3] : "" } == ["off", "on"], "\(jobs)")
            #expect(jobs.allSatisfy { $0.count == 12 && $0[5] == "5" && $0[9] == "0" }, "\(jobs)")
            #expect(jobs.allSatisfy { (Double($0[10]) ?? 0) > 0 && (Double($0[11]) ?? 0) > 0 }, "\(jobs)")
            // Each beside its floor: the same jobs' file operations alone.
            let floors = lines.filter { $0.hasPrefix("file operations alone (floor)") }.map(columns)
            #expect(floors.map { $0.count == 13 ? $0[4] : "" } == ["off", "on"], "\(floors)")
            #expect(floors.allSatisfy { $0.count == 13 && $0[6] == "5" && $0[7] == "50" && (Double($0[9]) ?? 0) > 0 },
                    "\(floors)")

            // The deep backlog and the full done/: each row beside its baseline (the first row of its table).
            let scaleRows = lines.filter { $0.hasPrefix("1 agent, fsync off") }.map(columns)
            #expect(scaleRows.count == 4, "\(result.stdout)")
            let deep = scaleRows.filter { $0.count == 11 }
            #expect(deep.map { $0[4] } == ["1000", "1000"], "\(deep)")
            #expect(deep.allSatisfy { (Double($0[7]) ?? 0) > 0 && $0[10].hasSuffix("%") }, "\(deep)")
            let done = scaleRows.filter { $0.count == 10 }
            #expect(done.map { $0[4] } == ["0", "2000"], "\(done)")
            #expect(done.allSatisfy { (Double($0[5]) ?? 0) > 0 && (Double($0[7]) ?? 0) > 0 }, "\(done)")

            // The measurements' spools are gone; the directory given with --spool stays.
            let left = (try? FileManager.default.contentsOfDirectory(atPath: spool.root)) ?? []
            #expect(!left.contains { $0.hasPrefix("tp-") || $0.hasPrefix("drain-") || $0.hasPrefix("lat-")
                || $0.hasPrefix("deep-") || $0.hasPrefix("done-") || $0.hasPrefix("jobs-") }, "\(left)")
        }
    }
}
