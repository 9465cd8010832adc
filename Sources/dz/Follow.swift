import DZClient
import DZStore
import DZSystem
import Foundation

/// Follows a job from any host through what the coordinator publishes, with its progress on standard output (a
/// line redrawn in place on a terminal, a line per step change otherwise, nothing when `quiet`).
enum Follow {
    /// Returns the job's document once it ended, however it ended; exits (1, 75) when it cannot be followed.
    static func ended(_ id: String, _ client: Client, timeout: Double? = nil, quiet: Bool = false) async throws
        -> JobDocument
    {
        let mode: ProgressPrinter.Mode = quiet ? .quiet : Host.standardOutputIsTerminal ? .terminal : .lines
        let printer = ProgressPrinter(mode: mode) { text in
            print(text, terminator: "")
            fflush(nil)
        }
        do {
            let document = try await client.waiter(id, timeout: timeout).wait { printer.show($0) }
            printer.finish(document)
            return document
        } catch let error as ClientError {
            printer.endLine()
            complain(error.description)
            throw ExitStatus.code(for: error)
        }
    }

    /// Returns the job's document once it succeeded; exits 1 when it ended otherwise (saying why on standard
    /// error when `quiet`, since nothing else did).
    static func succeeded(_ id: String, _ client: Client, timeout: Double? = nil, quiet: Bool = false) async throws
        -> JobDocument
    {
        let document = try await ended(id, client, timeout: timeout, quiet: quiet)
        guard document.job.state == .succeeded else {
            if quiet { complain(JobWaiter.summary(document)) }
            throw ExitStatus.notFound
        }
        return document
    }
}
