import ArgumentParser
import DZClient
import DZSpool
@preconcurrency import Glibc

/// The exit codes every dz command uses, as dz(1) documents them.
enum ExitStatus {
    static let notFound = ExitCode(1)
    static let usage = ExitCode(64)
    static let badInput = ExitCode(65)
    static let unavailable = ExitCode(69)
    static let temporaryFailure = ExitCode(75)
    static let systemFailure = ExitCode(111)

    /// The exit code for a spool error.
    static func code(for error: SpoolError) -> ExitCode {
        switch error {
        case .invalidQueueName, .invalidTaskID, .invalidHostID: usage
        case .badTask, .duplicateID: badInput
        case .notFound: notFound
        case .system: systemFailure
        }
    }

    /// The exit code for a client error.
    static func code(for error: ClientError) -> ExitCode {
        switch error {
        case .notFound, .jobDidNotSucceed: notFound
        case .timedOut: temporaryFailure
        case .usage: usage
        case .badInput: badInput
        case .unavailable: unavailable
        case .spool(let error): code(for: error)
        }
    }
}

/// Runs `body`, turning a `ClientError` into its message and exit code.
func reportingClientErrors<T>(_ body: () throws(ClientError) -> T) throws -> T {
    do {
        return try body()
    } catch {
        complain(error.description)
        throw ExitStatus.code(for: error)
    }
}

/// Prints `message` on standard error as `dz: message`.
func complain(_ message: String) {
    fputs("dz: \(message)\n", stderr)
}

/// Runs `body`, turning a `SpoolError` into its message and exit code.
func reportingErrors<T>(_ body: () throws(SpoolError) -> T) throws -> T {
    do {
        return try body()
    } catch {
        complain(error.description)
        throw ExitStatus.code(for: error)
    }
}
