/// Why inspecting a checkout failed, each with a message for the job log. A repository that holds no Django project
/// is not an error: that is an `Inspection` with `isDjango` false.
public enum InspectionError: Error, Equatable, CustomStringConvertible {
    /// The checkout to inspect is not a directory.
    case noSuchRepository(String)
    /// The Python interpreter (the program named) is not on PATH.
    case pythonMissing(String)
    /// The interpreter was found but could not be started: the program and why.
    case cannotStart(String, String)
    /// The inspector exited unsuccessfully: how it ended, and the tail of its standard error.
    case scriptFailed(String, String)
    /// The inspector ran past its time limit (seconds) and was killed.
    case timedOut(Double)
    /// The calling task was cancelled, and the inspector with it.
    case cancelled
    /// The inspector's output is not its JSON report: why, and the start of the output.
    case notJSON(String, String)

    public var description: String {
        switch self {
        case .noSuchRepository(let path): "cannot inspect \(path): not a directory"
        case .pythonMissing(let program):
            "\(program) is not installed on this build host (inspection parses the project with Python's ast module)"
        case .cannotStart(let program, let why): "cannot start \(program) to inspect the project: \(why)"
        case .scriptFailed(let ending, let tail):
            "the inspection script failed (\(ending))" + (tail.isEmpty ? "" : ":\n\(tail)")
        case .timedOut(let seconds): "the inspection did not finish within \(Int(seconds)) s and was stopped"
        case .cancelled: "the inspection was cancelled"
        case .notJSON(let why, let output):
            "the inspection script's output is not its JSON report (\(why)): \(output.isEmpty ? "(empty)" : output)"
        }
    }
}
