import DZSpool
import DZTasks

/// One guess about how a project must be configured: the type `check_repo` returns its guesses in.
public typealias ConfigGuess = CheckRepoTask.Guess

/// What inspecting a checked-out repository found.
public struct Inspection: Sendable, Equatable {
    /// False for a repository with no Django project in it (a clear answer, not an error).
    public var isDjango: Bool
    /// Every guess, primary ones first within a field.
    public var guesses: [ConfigGuess]
    /// Hazards and doubts for the user: `DEBUG = True`, several package managers, a misspelled requirements file...
    public var warnings: [String]
    /// Files that could not be read or parsed (skipped), with why.
    public var skipped: [String]

    public init(isDjango: Bool, guesses: [ConfigGuess], warnings: [String], skipped: [String]) {
        self.isDjango = isDjango
        self.guesses = guesses
        self.warnings = warnings
        self.skipped = skipped
    }

    /// The primary guess for `field`.
    public func primary(_ field: String) -> String? {
        guesses.first { $0.field == field && $0.isPrimary }?.value
    }
}
