import DZSpool
import DZSystem
import Foundation

/// Inspects a checked-out repository and guesses how its Django project must be built and deployed.
///
/// The project's code is never imported or run: `DjangoInspectorScript` parses it statically (Python's `ast`) in a
/// separate, isolated `python3 -I` process, with a time limit, and reports one JSON object that is decoded here.
public struct DjangoInspector: Sendable {
    /// The Python 3 interpreter (3.8 or later; 3.11 or later to read TOML files).
    public var python: String
    /// Seconds before the inspector is killed. The script itself stops walking after `timeBudget` seconds.
    public var timeout: Double
    /// Overrides of the script's bounds (files walked, seconds spent), for tests.
    var maxFiles: Int?
    var timeBudget: Double?

    public init(python: String = "python3", timeout: Double = 60) {
        self.init(python: python, timeout: timeout, maxFiles: nil, timeBudget: nil)
    }

    init(python: String, timeout: Double, maxFiles: Int?, timeBudget: Double?) {
        self.python = python
        self.timeout = timeout
        self.maxFiles = maxFiles
        self.timeBudget = timeBudget
    }

    /// Inspects the checkout at `repository`; `sourceURL`, when given, names the project (its title guess).
    public func inspect(repository: String, sourceURL: String?) async throws(InspectionError) -> Inspection {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: repository, isDirectory: &isDirectory), isDirectory.boolValue
        else { throw .noSuchRepository(repository) }

        // The interpreter runs in "/", so a relative path is made absolute here.
        let absolute = repository.hasPrefix("/") ? repository
            : FileManager.default.currentDirectoryPath + "/" + repository
        var arguments = [python, "-I", "-", absolute]
        if let sourceURL, !sourceURL.isEmpty { arguments.append(sourceURL) }
        // A small fixed environment: nothing of the caller's (PYTHONPATH, virtualenvs) reaches the interpreter.
        var environment = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
        ]
        if let maxFiles { environment["DZ_INSPECT_MAX_FILES"] = String(maxFiles) }
        if let timeBudget { environment["DZ_INSPECT_TIME_BUDGET"] = String(timeBudget) }

        let outcome: Subprocess.Outcome
        do {
            outcome = try await Subprocess.run(arguments, environment: environment, workingDirectory: "/",
                                               input: Array(DjangoInspectorScript.source.utf8), timeout: timeout)
        } catch Subprocess.Failure.notFound {
            throw .pythonMissing(python)
        } catch Subprocess.Failure.cannotStart(_, let why) {
            throw .cannotStart(python, why)
        } catch {
            throw .cannotStart(python, "\(error)")
        }
        switch outcome.ending {
        case .exited(0): return try Self.decode(outcome.stdout)
        case .exited(let status): throw .scriptFailed("exit status \(status)", Self.stderrTail(outcome))
        case .signalled(let signal): throw .scriptFailed("killed by signal \(signal)", Self.stderrTail(outcome))
        case .timedOut: throw .timedOut(timeout)
        case .cancelled: throw .cancelled
        }
    }

    /// Decodes the script's report: `{"is_django", "guesses", "warnings", "skipped"}`.
    static func decode(_ output: [UInt8]) throws(InspectionError) -> Inspection {
        let excerpt = String(decoding: output.prefix(300), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let report: JSONValue
        do {
            report = try JSONValue.parse(output)
        } catch {
            throw .notJSON("not JSON", excerpt)
        }
        guard let object = report.objectValue else { throw .notJSON("not an object", excerpt) }
        guard case .bool(let isDjango)? = object["is_django"] else { throw .notJSON("no is_django", excerpt) }
        var guesses: [ConfigGuess] = []
        for item in object["guesses"]?.arrayValue ?? [] {
            guard let guess = ConfigGuess(json: item) else { throw .notJSON("a malformed guess", excerpt) }
            guesses.append(guess)
        }
        let strings = { (key: String) in (object[key]?.arrayValue ?? []).compactMap(\.stringValue) }
        return Inspection(isDjango: isDjango, guesses: guesses, warnings: strings("warnings"),
                          skipped: strings("skipped"))
    }

    private static func stderrTail(_ outcome: Subprocess.Outcome) -> String {
        outcome.stderrText.split(separator: "\n", omittingEmptySubsequences: false).suffix(20)
            .joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
