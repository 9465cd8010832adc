import DZBench
import Foundation

/// `dz bench`'s deep backlog and full `done/` rows: each beside the baseline it is judged against.
struct ScaleTables {
    var executable: String
    var base: String
    var concurrency: Int
    var repeats: Int
    var deepBacklog: Int
    var fullDone: Int

    func print() throws {
        if deepBacklog > 0 {
            let benchmark = DeepBacklogBenchmark(executable: executable, directory: base, deep: deepBacklog,
                                                 repeats: repeats, concurrency: concurrency)
            let rows: [DeepBacklogBenchmark.Row]
            do { rows = try benchmark.run { Swift.print($0) } } catch {
                complain("\(error)")
                throw ExitStatus.systemFailure
            }
            Swift.print("")
            var table = [["DEEP BACKLOG", "WAITING", "TASKS", "RUNS", "TASKS/S", "RANGE", "BASELINE/S", "OF BASELINE"]]
            let baseline = rows.first?.perSecond ?? .nan
            for row in rows {
                table.append(["1 agent, fsync off", "\(row.waiting)", "\(row.sample)", "\(row.rates.count)",
                              String(format: "%.0f", row.perSecond),
                              String(format: "%.0f-%.0f", row.rates.first ?? 0, row.rates.last ?? 0),
                              String(format: "%.0f", baseline), String(format: "%.0f%%", row.perSecond / baseline * 100)])
            }
            printTable(table)
            Swift.print("TASKS/S: the first TASKS results of a backlog of WAITING tasks dropped before the agent started;")
            Swift.print("the baseline is the same with \(rows.first?.waiting ?? 0) waiting (goal: at least 80%).")
            Swift.print("")
        }
        if fullDone > 0 {
            let benchmark = FullDoneBenchmark(executable: executable, directory: base, filled: fullDone,
                                              concurrency: concurrency)
            let rows: [FullDoneBenchmark.Row]
            do { rows = try benchmark.run { Swift.print($0) } } catch {
                complain("\(error)")
                throw ExitStatus.systemFailure
            }
            Swift.print("")
            var table = [["FULL DONE/", "FILES", "TASKS/S", "OF EMPTY", "STATUS P50 (ms)", "STATUS MAX (ms)", "OF EMPTY"]]
            let empty = rows.first
            for row in rows {
                let status = row.statusSeconds.percentile(0.5)
                table.append(["1 agent, fsync off", "\(row.done)", String(format: "%.0f", row.perSecond),
                              empty.map { String(format: "%.0f%%", row.perSecond / $0.perSecond * 100) } ?? "-",
                              String(format: "%.1f", status * 1000),
                              String(format: "%.1f", (row.statusSeconds.max() ?? .nan) * 1000),
                              empty.map { String(format: "%.0f%%", status / $0.statusSeconds.percentile(0.5) * 100) } ?? "-"])
            }
            printTable(table)
            Swift.print("FILES in today's done/ before the agent drained a backlog; dz status run as a whole command (its")
            Swift.print("time as a share of the empty row's: the goal is no slower, about 100%).")
            Swift.print("")
        }
    }
}
