import DZTasks
import Foundation
import Testing

/// dz(1)'s "Task handlers" section kept true to the contracts: the arguments it names for a task (`args.KEY`) are
/// exactly the contract's, and every output key the contract has is named there.
@Suite struct ManualTaskSectionTests {
    /// Each task's entry in the section: the lines from its `.It Cm name` to the next item of the same list.
    static func entries() throws -> [String: String] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("man/dz.1"), encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(of: ".Ss Task handlers") else { return [:] }
        var entries: [String: String] = [:]
        var current: String?
        var depth = 0
        for line in lines[(start + 1)...] {
            if line.hasPrefix(".Ss ") || line.hasPrefix(".Sh ") { break }
            if line.hasPrefix(".Bl ") { depth += 1 }
            if line == ".El" { depth -= 1; if depth == 0 { break } }
            if depth == 1, line.hasPrefix(".It Cm ") {
                let words = line.dropFirst(7).split(separator: " ")
                current = words.count == 1 ? String(words[0]) : nil
                continue
            }
            if let current { entries[current, default: ""] += line + "\n" }
        }
        return entries
    }

    @Test func everyContractsArgumentsAreTheOnesTheManualNames() throws {
        let entries = try Self.entries()
        for contract in TaskContracts.all {
            let entry = try #require(entries[contract.name], "dz(1) has no task handler entry \(contract.name)")
            let named = Set(entry.matches(of: /args\.([a-z0-9_]+)/).map { String($0.output.1) })
            #expect(named == Set(Self.argumentKeys(contract)),
                    "\(contract.name): the manual names \(named.sorted()), the contract \(Self.argumentKeys(contract))")
        }
    }

    @Test func everyContractsOutputKeysAreNamedInTheManual() throws {
        let entries = try Self.entries()
        for contract in TaskContracts.all {
            let entry = try #require(entries[contract.name])
            // `.Cm a , b , c` names a, b and c (mdoc's punctuation is separate tokens), as does an item of a
            // nested list, `.It Cm a`.
            let named = Set(entry.split(separator: "\n").flatMap { line -> [String] in
                let words = line.hasPrefix(".Cm ") ? line.dropFirst(4) : line.hasPrefix(".It Cm ") ? line.dropFirst(7) : ""
                return words.split(separator: " ").map(String.init)
            })
            let missing = Self.outputKeys(contract).filter { !named.contains($0) }
            #expect(missing.isEmpty, "\(contract.name): the manual does not name the output keys \(missing)")
        }
    }

    static func argumentKeys<Contract: TaskContract>(_: Contract.Type) -> [String] { Contract.Arguments.keys }
    static func outputKeys<Contract: TaskContract>(_: Contract.Type) -> [String] { Contract.Output.keys }
}
