import DZSpool
import DZStore
import DZSystem

/// The steps of a job as `dz job show` prints them: one row per step, each cell on one line (an error of several
/// lines, such as an app's traceback, would break the columns), and then, below the table, the whole error of every
/// step that failed, indented, so that nothing of it is lost to the row's cut.
public enum StepTable {
    /// The widest a row's last cell gets.
    public static let detailWidth = 80

    /// The header and one row per step.
    public static func rows(_ steps: [StepRecord]) -> [[String]] {
        var rows = [["STEP", "QUEUE", "TASK", "STATE", "HOST", "ATTEMPT", "TIME", "OUTPUT / ERROR"]]
        for step in steps {
            let time = step.started.flatMap { started in
                step.finished.map { "\(Int((($0 - started) * 1000).rounded()))ms" }
            } ?? "-"
            let detail = step.state == .failed || step.state == .cancelled
                ? "\(step.errorKind ?? "error"): \(step.error ?? "")"
                : (step.output.map { JSONValue.object($0).jsonText } ?? "")
            rows.append([step.name + (step.compensation ? " (undo)" : ""), step.queue.isEmpty ? "-" : step.queue,
                         step.task, step.shownState, step.host ?? "-",
                         step.attempt.map { "\($0)/\(step.maxAttempts)" } ?? "-", time, oneLine(detail)])
        }
        return rows
    }

    /// The full error of each failed step whose error spans several lines or did not fit its row:
    /// `<step> failed (<kind>):` and the error's lines, indented by four spaces. Empty when there is none.
    public static func failures(_ steps: [StepRecord]) -> String {
        var text = ""
        for step in steps where step.state == .failed {
            guard let error = step.error, error.contains("\n") || error.count + 20 > detailWidth else { continue }
            text += "\(step.name) failed (\(step.errorKind ?? "error")):\n"
            for line in error.split(separator: "\n", omittingEmptySubsequences: false) {
                text += "    " + line + "\n"
            }
        }
        return text
    }

    /// `text` on one line: its lines joined by ` | `, cut to `detailWidth` characters with `...` when longer.
    public static func oneLine(_ text: String) -> String {
        let joined = text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).joined(separator: " | ")
        return joined.count > detailWidth ? String(joined.prefix(detailWidth - 3)) + "..." : joined
    }
}
