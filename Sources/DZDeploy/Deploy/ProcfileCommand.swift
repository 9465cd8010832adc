import DZSystem
import Foundation

/// A command from a project's Procfile (`release: yes | python manage.py migrate`) or from zoombuild.cfg's
/// `procfile_release`, run as Heroku runs it: through `/bin/sh -c`, as the app's user inside its sandbox, with the
/// bundle's virtualenv first on `PATH`. The shell is the tenant's own tool running as the tenant, so this crosses
/// no trust boundary; what dz checks is only what would make the line something other than one command line: it
/// must not be empty, longer than 4096 bytes, or hold a control character other than a tab.
package struct ProcfileCommand: Sendable, Equatable {
    let process: String
    /// The command line as written, without the surrounding white space.
    package let line: String

    static let maximumLength = 4096

    package enum Failure: Error, Equatable, CustomStringConvertible {
        case empty(String)
        case tooLong(String)
        case controlCharacter(String)
        /// `/bin/sh -n` found the line malformed: its message.
        case syntax(String, String)

        package var description: String {
            switch self {
            case .empty(let process): "the Procfile's \(process) command is empty"
            case .tooLong(let process):
                "the Procfile's \(process) command is longer than \(ProcfileCommand.maximumLength) bytes"
            case .controlCharacter(let process): "the Procfile's \(process) command holds a control character"
            case .syntax(let process, let message):
                "the Procfile's \(process) command is not a valid shell command line (/bin/sh -n: \(message))"
            }
        }
    }

    package init(process: String, line: String) throws(Failure) {
        let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw .empty(process) }
        guard trimmed.utf8.count <= Self.maximumLength else { throw .tooLong(process) }
        guard !trimmed.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" || $0.value == 0x7F }) else {
            throw .controlCharacter(process)
        }
        self.process = process
        self.line = trimmed
    }

    /// The command of `process` in the Procfile text (its first line for it), or nil when it has none.
    package static func find(_ process: String, in procfile: String) throws(Failure) -> ProcfileCommand? {
        for rawLine in procfile.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            let line = rawLine.drop { $0 == " " || $0 == "\t" }
            guard !line.hasPrefix("#"), let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces)
            guard name == process else { continue }
            return try ProcfileCommand(process: process, line: String(line[line.index(after: colon)...]))
        }
        return nil
    }

    /// What runs: `/bin/sh -c <line>` (the line is one argument, never spliced into another command).
    package var argv: [String] { ["/bin/sh", "-c", line] }

    /// Checks the line's syntax with `/bin/sh -n`, which reads the commands and runs none (no expansion, no
    /// command substitution), so that a malformed line is refused before the build rather than after the
    /// migration. Nil when it parses (or the check itself could not run: the release step will tell).
    package func syntaxProblem() async -> Failure? {
        guard let outcome = try? await Subprocess.run(["/bin/sh", "-n", "-c", line],
                                                      environment: ["PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"],
                                                      timeout: 10) else { return nil }
        guard case .exited(let status) = outcome.ending, status != 0 else { return nil }
        let message = outcome.stderrText.split(whereSeparator: \.isNewline).first.map(String.init) ?? "status \(status)"
        return .syntax(process, String(message.prefix(200)))
    }
}
