import Foundation
import Testing

extension Integration {
    /// dz(1) and the executable cannot drift apart: every command and option that `dz --help` and each
    /// `dz <command> --help` show is in the manual's SYNOPSIS and described under the command's entry in
    /// Commands, and every command and option the SYNOPSIS names exists. The executable's side comes from
    /// argument-parser's own dump of the command tree (`--experimental-dump-help`), the same data `--help`
    /// and the shell completions are made from.
    @Suite struct ManualTests {
        @Test func everyCommandAndOptionTheHelpShowsIsInTheSynopsisAndTheReverse() throws {
            let executable = try CommandTree.load()
            let manual = try Manual.load()
            var problems: [String] = []
            for (path, options) in executable.options.sorted(by: { $0.key < $1.key }) {
                guard let documented = manual.synopsis[path] else {
                    problems.append("dz \(path): not in the SYNOPSIS of dz(1)")
                    continue
                }
                for names in options where documented.isDisjoint(with: names) {
                    problems.append("dz \(path) \(names.sorted().joined(separator: ", ")): the executable has it, the SYNOPSIS does not")
                }
                let typed = options.reduce(into: Set<String>()) { $0.formUnion($1) }
                for option in documented.subtracting(typed).sorted() {
                    problems.append("dz \(path) \(option): the SYNOPSIS names it, the executable has no such option")
                }
            }
            for path in Set(manual.synopsis.keys).subtracting(executable.options.keys).sorted() {
                problems.append("dz \(path): in the SYNOPSIS of dz(1), but the executable has no such command")
            }
            #expect(problems.isEmpty, Comment(rawValue: "\n" + problems.joined(separator: "\n")))
        }

        @Test func everyOptionOfACommandIsDescribedUnderItsEntryInCommands() throws {
            let executable = try CommandTree.load()
            let manual = try Manual.load()
            var problems: [String] = []
            for (path, options) in executable.options.sorted(by: { $0.key < $1.key }) {
                guard let entry = manual.entries[path] else {
                    problems.append("dz \(path): no entry (.It Cm \(path)) under Commands in dz(1)")
                    continue
                }
                let described = entry.split(separator: "\n").reduce(into: Set<String>()) {
                    $0.formUnion(Manual.flags(in: String($1)))
                }
                for names in options where names.isDisjoint(with: manual.commonOptions) && names.isDisjoint(with: described) {
                    problems.append("dz \(path) \(names.sorted().joined(separator: ", ")): not described under the command's entry in Commands")
                }
            }
            #expect(problems.isEmpty, Comment(rawValue: "\n" + problems.joined(separator: "\n")))
        }

        @Test func theCommonOptionsAreThoseEveryCommandButBenchAndGitShellAccept() throws {
            let executable = try CommandTree.load()
            let manual = try Manual.load()
            #expect(!manual.commonOptions.isEmpty)
            for (path, options) in executable.options where path != "bench" && path != "git shell" {
                let typed = options.reduce(into: Set<String>()) { $0.formUnion($1) }
                #expect(manual.commonOptions.isSubset(of: typed), "dz \(path) lacks some of \(manual.commonOptions.sorted())")
            }
        }
    }
}

/// The executable's commands and their options, from `dz --experimental-dump-help`: the command path
/// ("job show") maps to its options, each the set of its names as they are typed (["-n", "--lines"]). Groups that only hold subcommands
/// (`dz job`), `dz help`, and the `-h`/`--help`/`--version` every command has are left out.
private struct CommandTree {
    var options: [String: [Set<String>]] = [:]

    static func load() throws -> CommandTree {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try DZBinary.path())
        process.arguments = ["--experimental-dump-help"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let dump = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let root = dump["command"] as? [String: Any]
        else { throw SetupFailure("dz --experimental-dump-help did not print its command tree") }
        var tree = CommandTree()
        tree.walk(root, path: [])
        return tree
    }

    private mutating func walk(_ command: [String: Any], path: [String]) {
        let subcommands = command["subcommands"] as? [[String: Any]] ?? []
        for subcommand in subcommands {
            guard let name = subcommand["commandName"] as? String, name != "help" else { continue }
            walk(subcommand, path: path + [name])
        }
        guard !path.isEmpty, subcommands.isEmpty else { return }
        var arguments: [Set<String>] = []
        for argument in command["arguments"] as? [[String: Any]] ?? [] {
            var typed: Set<String> = []
            for name in argument["names"] as? [[String: Any]] ?? [] {
                guard let kind = name["kind"] as? String, let text = name["name"] as? String else { continue }
                switch kind {
                case "long": typed.insert("--" + text)
                case "short": typed.insert("-" + text)
                default: continue
                }
            }
            if !typed.isEmpty, typed.isDisjoint(with: ["-h", "--help", "--version"]) { arguments.append(typed) }
        }
        options[path.joined(separator: " ")] = arguments
    }
}

/// What man/dz.1 says of the commands: each SYNOPSIS block (`.Nm`, `.Cm <command>`, then its options,
/// `.Op Ar common-options` standing for the Common options), the Common options, and the text of each
/// command's entry under Commands (from its `.It Cm <command>` to the next command's).
private struct Manual {
    var synopsis: [String: Set<String>] = [:]
    var commonOptions: Set<String> = []
    var entries: [String: String] = [:]

    static func load() throws -> Manual {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("man/dz.1"), encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var manual = Manual()
        manual.readCommonOptions(lines)
        manual.readSynopsis(lines)
        manual.readEntries(lines)
        return manual
    }

    /// The options a line names with `Fl` (or `.Fl`): `Fl -spool` is "--spool", `Fl n` is "-n"; a lone `Fl -` (the end
    /// of options) and `Fl` followed by a macro are no option.
    static func flags(in line: String) -> Set<String> {
        let words = line.split(separator: " ").map(String.init)
        var found: Set<String> = []
        for (index, word) in words.enumerated() where (word == "Fl" || word == ".Fl") && index + 1 < words.count {
            var name = words[index + 1]
            while let last = name.last, ",;.)".contains(last) { name.removeLast() }
            guard let first = name.first, first == "-" || first.isLetter, name != "-",
                  name.dropFirst().allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" })
            else { continue }
            found.insert("-" + name)
        }
        return found
    }

    private func section(_ lines: [String], from start: String, to end: (String) -> Bool) -> ArraySlice<String> {
        guard let first = lines.firstIndex(of: start) else { return [] }
        let rest = lines[(first + 1)...]
        let last = rest.firstIndex(where: end) ?? lines.endIndex
        return lines[(first + 1)..<last]
    }

    private mutating func readCommonOptions(_ lines: [String]) {
        for line in section(lines, from: ".Ss Common options", to: { $0 == ".El" }) where line.hasPrefix(".It Fl") {
            commonOptions.formUnion(Self.flags(in: line))
        }
    }

    private mutating func readSynopsis(_ lines: [String]) {
        var command: String?
        for line in section(lines, from: ".Sh SYNOPSIS", to: { $0.hasPrefix(".Sh ") }) {
            if line == ".Nm" {
                command = nil
            } else if command == nil, line.hasPrefix(".Cm ") {
                command = String(line.dropFirst(4))
                synopsis[command!, default: []].formUnion([])
            } else if let command {
                if line == ".Op Ar common-options" {
                    synopsis[command, default: []].formUnion(commonOptions)
                } else {
                    synopsis[command, default: []].formUnion(Self.flags(in: line))
                }
            }
        }
    }

    private mutating func readEntries(_ lines: [String]) {
        let commands = Set(synopsis.keys)
        var current: String?
        for line in section(lines, from: ".Ss Commands", to: { $0.hasPrefix(".Ss ") || $0.hasPrefix(".Sh ") }) {
            if line.hasPrefix(".It Cm "), let named = Self.command(in: line, among: commands) {
                current = named
            }
            if let current { entries[current, default: ""] += line + "\n" }
        }
    }

    /// The command an `.It Cm` line opens: the longest known command its words start with ("job show", not
    /// "job"), or nil for an `.It Cm` inside an entry (doctor's checks).
    static func command(in line: String, among commands: Set<String>) -> String? {
        let words = line.dropFirst(".It Cm ".count).split(separator: " ").map(String.init)
        for count in stride(from: min(3, words.count), through: 1, by: -1) {
            let candidate = words.prefix(count).joined(separator: " ")
            if commands.contains(candidate) { return candidate }
        }
        return nil
    }
}
