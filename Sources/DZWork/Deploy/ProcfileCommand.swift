import DZSystem
import Foundation

/// A command from a project's Procfile (`release: python manage.py warm_cache --all`), split into arguments by
/// simple quoting rules and never given to a shell: whitespace separates arguments; `'...'` is literal; `"..."`
/// keeps `\"` and `\\` as escapes; a backslash outside quotes takes the next character as it is. Unquoted shell
/// syntax (`;`, `|`, `&`, `<`, `>`, `$`, a backquote, `(`, `)`) is refused with a message rather than passed on as
/// a literal argument that would fail in some confusing way.
struct ProcfileCommand: Sendable, Equatable {
    let process: String
    let arguments: [String]

    enum Failure: Error, Equatable, CustomStringConvertible {
        case unbalancedQuote(String)
        case shellSyntax(String, Character)
        case empty(String)

        var description: String {
            switch self {
            case .unbalancedQuote(let process): "the Procfile's \(process) command has an unbalanced quote"
            case .shellSyntax(let process, let character):
                "the Procfile's \(process) command uses shell syntax (\(character)); dz runs it without a shell: "
                    + "put the steps in a script and name that"
            case .empty(let process): "the Procfile's \(process) command is empty"
            }
        }
    }

    /// The command of `process` in the Procfile text, or nil when it has none.
    static func find(_ process: String, in procfile: String) throws(Failure) -> ProcfileCommand? {
        for rawLine in procfile.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let line = rawLine.drop { $0 == " " || $0 == "\t" }
            guard !line.hasPrefix("#"), let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces)
            guard name == process else { continue }
            let arguments = try split(String(line[line.index(after: colon)...]), process: process)
            guard !arguments.isEmpty else { throw .empty(process) }
            return ProcfileCommand(process: process, arguments: arguments)
        }
        return nil
    }

    static func split(_ text: String, process: String = "release") throws(Failure) -> [String] {
        var arguments: [String] = []
        var current = ""
        var inArgument = false
        var characters = text.makeIterator()
        while let character = characters.next() {
            switch character {
            case " ", "\t":
                if inArgument { arguments.append(current) }
                current = ""
                inArgument = false
            case "'":
                inArgument = true
                var closed = false
                while let inner = characters.next() {
                    if inner == "'" { closed = true; break }
                    current.append(inner)
                }
                if !closed { throw .unbalancedQuote(process) }
            case "\"":
                inArgument = true
                var closed = false
                while let inner = characters.next() {
                    if inner == "\"" { closed = true; break }
                    if inner == "\\" {
                        guard let escaped = characters.next() else { break }
                        if escaped != "\"" && escaped != "\\" { current.append("\\") }
                        current.append(escaped)
                    } else {
                        current.append(inner)
                    }
                }
                if !closed { throw .unbalancedQuote(process) }
            case "\\":
                inArgument = true
                if let escaped = characters.next() { current.append(escaped) }
            case ";", "|", "&", "<", ">", "$", "`", "(", ")":
                throw .shellSyntax(process, character)
            default:
                inArgument = true
                current.append(character)
            }
        }
        if inArgument { arguments.append(current) }
        return arguments
    }

    /// The arguments to run from the bundle: `python`/`python3` is the venv's; a console script of the venv
    /// (`django-admin`) runs through the venv's python, since its `#!` line names the build host's path.
    func argv(bundleDirectory: String) -> [String] {
        let python = bundleDirectory + "/venv/bin/python"
        guard let first = arguments.first else { return [] }
        if first == "python" || first == "python3" { return [python] + arguments.dropFirst() }
        let script = bundleDirectory + "/venv/bin/" + first
        if !first.contains("/"), (try? FileSystem.linkStatus(script))?.isRegular == true {
            return [python, script] + arguments.dropFirst()
        }
        return arguments
    }
}
