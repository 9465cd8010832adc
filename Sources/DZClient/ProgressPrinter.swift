import DZStore
import DZSystem

/// Shows a followed job's progress: one line redrawn in place on a terminal, a line per step change otherwise, or
/// nothing (`quiet`: `dz logs` and `dz manage` print only what they fetched). Writes through `write`, so that a test
/// reads what a user would see.
public final class ProgressPrinter {
    public enum Mode: Sendable { case terminal, lines, quiet }

    public let mode: Mode
    private let write: (String) -> Void
    private var lastStates: [String: StepRecord.State] = [:]
    private var redrawn = false

    public init(mode: Mode, write: @escaping (String) -> Void) {
        self.mode = mode
        self.write = write
    }

    /// Shows one event of `JobWaiter`. A step's error is shown on its line cut to one line: the whole of it (an
    /// app's traceback, say) is in the summary line `finish` prints, which would otherwise repeat it.
    public func show(_ event: JobWaiter.Event, now: Timestamp = .now()) {
        switch (event, mode) {
        case (_, .quiet): return
        case (.waitingForCoordinator, _):
            endLine()
            write("job: waiting for the coordinator\n")
        case (.update(let document), .terminal):
            write("\r\u{1B}[K" + String(Self.progressLine(document, now: now).prefix(200)))
            redrawn = true
        case (.update(let document), .lines):
            for step in document.steps where lastStates[step.name] != step.state {
                lastStates[step.name] = step.state
                write("\(now.rfc3339) \(step.name) \(step.shownState)" + (step.host.map { " on \($0)" } ?? "")
                      + (step.error.map { ": " + StepTable.oneLine($0) } ?? "") + "\n")
            }
        }
    }

    /// Ends the progress and prints the summary line (not in quiet mode).
    public func finish(_ document: JobDocument) {
        guard mode != .quiet else { return }
        endLine()
        for warning in Self.buildWarnings(document) { write("warning: \(warning)\n") }
        write(JobWaiter.summary(document) + "\n")
    }

    /// What the builder warned about (`build_bundle`'s `warnings`: a requirement twice, collectstatic with
    /// `warn`, ...), which a user should see without `dz job show`.
    public static func buildWarnings(_ document: JobDocument) -> [String] {
        document.steps.filter { $0.name == "build_bundle" }
            .flatMap { $0.output?["warnings"]?.arrayValue ?? [] }
            .compactMap(\.stringValue)
    }

    /// Ends a line redrawn in place, so that what follows starts on its own line.
    public func endLine() {
        if redrawn { write("\n") }
        redrawn = false
    }

    /// `J… [3/10] running running: deploy.0, deploy.1  4.2s`.
    public static func progressLine(_ document: JobDocument, now: Timestamp = .now()) -> String {
        let job = document.job
        let done = document.steps.filter { $0.state.isFinal }.count
        let running = document.steps.filter { $0.state == .dispatched }.map(\.name)
        var line = "\(job.id) [\(done)/\(document.steps.count)] \(job.state.rawValue)"
        if let stopping = job.stopping, job.state == .running { line += " (\(stopping.rawValue))" }
        if !running.isEmpty { line += " running: " + running.joined(separator: ", ") }
        return line + "  \(TextFormat.tenths((job.finished ?? now) - (job.started ?? job.issuedAt)))s"
    }
}
