import ArgumentParser
import DZDeploy
import DZSpool
import DZSystem
import DZWork
import Foundation

/// The variables `dz config set` is given, and where each value comes from: `NAME=VALUE` on the command line
/// (fine for what is not secret: every local user and app sees a command line in `ps` for as long as the
/// command runs), `NAME` alone (the value on standard input, or typed at a prompt that does not echo), or
/// `--from-file NAME=FILE` (the file's content). A value read from standard input or a file loses one trailing
/// newline (`echo` and editors add one); it may hold no other newline and no NUL.
struct ConfigValues {
    /// The longest value read from standard input or a file.
    static let limit = 64 << 10

    var inline: [String: String] = [:]
    /// The name whose value comes from standard input, if any.
    var fromInput: String?
    var fromFiles: [String: String] = [:]

    init(assignments: [String], files: [String]) throws(ValidationError) {
        var names: [String] = []
        for assignment in assignments {
            if let equals = assignment.firstIndex(of: "=") {
                names.append(String(assignment[..<equals]))
                inline[String(assignment[..<equals])] = String(assignment[assignment.index(after: equals)...])
            } else {
                guard fromInput == nil else {
                    throw ValidationError("only one NAME without =VALUE (its value is read from standard input): "
                                          + "give the others with --from-file NAME=FILE")
                }
                fromInput = assignment
                names.append(assignment)
            }
        }
        for entry in files {
            guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex,
                  entry.index(after: equals) != entry.endIndex else {
                throw ValidationError("--from-file \"\(entry.prefix(60))\": use NAME=FILE")
            }
            names.append(String(entry[..<equals]))
            fromFiles[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
        }
        guard !names.isEmpty else { throw ValidationError("give at least one NAME=VALUE, NAME or --from-file NAME=FILE") }
        guard Set(names).count == names.count else { throw ValidationError("a variable is given twice") }
        // The names checked now, before anything is read.
        _ = try Self.checked(Dictionary(uniqueKeysWithValues: names.map { ($0, "") }))
    }

    /// Names set on the command line that look secret (`API_TOKEN`, `DB_PASSWORD`): their values were visible.
    var exposed: [String] { inline.keys.filter(Redaction.looksSecret).sorted() }

    /// Every variable with its value, the ones from standard input and files read now.
    func read() throws(ConfigValueError) -> [String: String] {
        var values = inline
        if let name = fromInput { values[name] = try Self.standardInput(for: name) }
        for (name, path) in fromFiles { values[name] = try Self.file(path, for: name) }
        do { return try Self.checked(values) } catch { throw ConfigValueError(error.message) }
    }

    /// `values` as the deploy step will take them (`RuntimeEnvironment.extra`): allowed names, no newline or NUL.
    static func checked(_ values: [String: String]) throws(ValidationError) -> [String: String] {
        do { return try RuntimeEnvironment.extra(values) } catch {
            throw ValidationError(error.message)
        }
    }

    static func standardInput(for name: String) throws(ConfigValueError) -> String {
        if Terminal.inputIsTerminal {
            let typed: [UInt8]?
            do { typed = try Terminal.readHiddenLine(prompt: "\(name): ", limit: limit) } catch {
                throw ConfigValueError("cannot read \(name) from the terminal: \(error)")
            }
            guard let typed else { throw ConfigValueError("no value given for \(name)") }
            return String(decoding: typed, as: UTF8.self)
        }
        return try value(FileHandle.standardInput.readData(ofLength: limit + 1), for: name, from: "standard input")
    }

    /// The file's content: a regular file, or a pipe such as `<(pass show key)`.
    static func file(_ path: String, for name: String) throws(ConfigValueError) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ConfigValueError("--from-file \(name)=\(path): cannot open \(path)")
        }
        defer { try? handle.close() }
        return try value(handle.readData(ofLength: limit + 1), for: name, from: path)
    }

    static func value(_ data: Data, for name: String, from place: String) throws(ConfigValueError) -> String {
        guard data.count <= limit else { throw ConfigValueError("the value of \(name) in \(place) is over 64 KiB") }
        var bytes = [UInt8](data)
        if bytes.last == 10 { bytes.removeLast() }
        if bytes.last == 13 { bytes.removeLast() }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigValueError("the value of \(name) in \(place) is not UTF-8 text")
        }
        return text
    }
}

/// A value that could not be read or is not allowed (exit 65).
struct ConfigValueError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
