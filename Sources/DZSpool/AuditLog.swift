import DZSystem
import Foundation
import Synchronization

/// The append-only audit history of one host: `<spool>/log/<host-id>/<yyyy-mm-dd>.log`, one logfmt line per event.
///
/// Each host writes only its own files (appends from several NFS clients to one file can corrupt it); processes on
/// one host share the day's file, each line one `write(2)` with `O_APPEND`. `grep -r <task-id> <spool>` shows a
/// task's whole history. Arguments, outputs and secrets are never written here.
public final class AuditLog: Sendable {
    public let directory: String
    public let host: HostID
    public let pid: Int32
    private let file: Mutex<State>

    /// Today's file, and the lines that could not be written yet.
    private struct State {
        var day = ""
        var file: AppendFile?
        var backlog: [UInt8] = []
        var backlogDay = ""
        var overflowReported = false
    }

    public init(spoolRoot: String, host: HostID, pid: Int32 = Host.pid) {
        directory = spoolRoot + "/log/" + host.rawValue
        self.host = host
        self.pid = pid
        file = Mutex(State())
    }

    /// Appends one event. Failure to log never stops the work; it is reported on standard error once per file.
    public func record(_ event: String, _ fields: [(String, String?)] = [], at time: Timestamp = .now()) {
        record([(event, fields)], at: time)
    }

    /// Appends several events, in order, with one write (a claim and the start of its task).
    public func record(_ events: [(event: String, fields: [(String, String?)])], at time: Timestamp = .now()) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(events.count * 200)
        let stamp = time.rfc3339
        for (event, fields) in events {
            bytes.append(contentsOf: "ts=\(stamp) host=\(host.rawValue) pid=\(pid) event=\(event)".utf8)
            for (key, value) in fields {
                guard let value else { continue }
                bytes.append(contentsOf: " \(key)=".utf8)
                bytes.append(contentsOf: Logfmt.quote(value).utf8)
            }
            bytes.append(0x0A)
        }
        let day = String(decoding: stamp.utf8.prefix(10), as: UTF8.self)
        file.withLock { state in
            if !state.backlog.isEmpty {
                let kept = state.backlog
                state.backlog = []
                write(kept, day: state.backlogDay, &state)
            }
            if state.backlog.isEmpty { write(bytes, day: day, &state) } else { keep(bytes, day: day, &state) }
        }
    }

    /// Writes the lines kept back while the log could not be written (a full disk); at each rescan.
    public func flush() {
        file.withLock { state in
            guard !state.backlog.isEmpty else { return }
            let bytes = state.backlog
            state.backlog = []
            write(bytes, day: state.backlogDay, &state)
        }
    }

    /// The most kept back: beyond it, the newest lines are dropped (and that is said on standard error).
    static let backlogLimit = 1 << 20

    private func write(_ bytes: [UInt8], day: String, _ state: inout State) {
        if state.day != day || state.file == nil {
            state.day = day
            state.file = open(day: day)
        }
        guard let file = state.file else { keep(bytes, day: day, &state); return }
        do throws(Errno) { try file.append(bytes) } catch {
            // Part of the lines may be in the file (EIO after a short write): writing them again would record
            // events twice. Nothing was written otherwise: a full disk keeps them back for later, other errors
            // (a file rotated away, a stale NFS handle) reopen and retry once.
            switch error {
            case .ioError:
                return
            case .noSpace, .diskQuotaExceeded:
                keep(bytes, day: day, &state)
            default:
                state.file = open(day: day)
                if (try? state.file?.append(bytes)) == nil { keep(bytes, day: day, &state) }
            }
        }
    }

    private func keep(_ bytes: [UInt8], day: String, _ state: inout State) {
        if state.backlog.isEmpty { state.backlogDay = day }
        if state.backlog.count + bytes.count <= AuditLog.backlogLimit {
            state.backlog += bytes
        } else if !state.overflowReported {
            state.overflowReported = true
            StandardError.write("dz: audit log \(directory): cannot write, over \(AuditLog.backlogLimit) bytes kept back; dropping newer lines\n")
        }
    }

    /// Closes and reopens today's file (SIGHUP, after log rotation).
    public func reopen() {
        file.withLock { state in
            state.file = nil
        }
    }

    private func open(day: String) -> AppendFile? {
        let path = directory + "/" + day + ".log"
        if let opened = try? SpoolModes.openLog(path) { return opened }
        try? SpoolModes.makeDirectories(directory)
        return try? SpoolModes.openLog(path)
    }
}

/// logfmt quoting: bare when safe, else double-quoted with `\"`, `\\` and `\n` escaped.
public enum Logfmt {
    public static func quote(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.utf8.contains { byte in
            byte <= 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "=") || byte == UInt8(ascii: "\\")
                || byte == 0x7F
        }
        guard needsQuotes else { return value }
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F { out += "?" } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }

    /// A key as logfmt allows it: characters that would end or break it (space, `=`, `"`, controls) become `_`.
    public static func key(_ key: String) -> String {
        let safe = key.unicodeScalars.map { scalar -> String in
            scalar.value <= 0x20 || scalar == "=" || scalar == "\"" || scalar.value == 0x7F ? "_" : String(scalar)
        }.joined()
        return safe.isEmpty ? "_" : safe
    }

    /// Splits a logfmt line into its key-value pairs (quoted values unescaped).
    public static func parse(_ line: Substring) -> [(String, String)] {
        var pairs: [(String, String)] = []
        var index = line.startIndex
        while index < line.endIndex {
            while index < line.endIndex, line[index] == " " { index = line.index(after: index) }
            guard index < line.endIndex else { break }
            let keyStart = index
            while index < line.endIndex, line[index] != "=", line[index] != " " { index = line.index(after: index) }
            let key = String(line[keyStart..<index])
            guard index < line.endIndex, line[index] == "=" else { pairs.append((key, "")); continue }
            index = line.index(after: index)
            var value = ""
            if index < line.endIndex, line[index] == "\"" {
                index = line.index(after: index)
                while index < line.endIndex, line[index] != "\"" {
                    if line[index] == "\\", line.index(after: index) < line.endIndex {
                        index = line.index(after: index)
                        switch line[index] {
                        case "n": value.append("\n")
                        case "r": value.append("\r")
                        case "t": value.append("\t")
                        default: value.append(line[index])
                        }
                    } else {
                        value.append(line[index])
                    }
                    index = line.index(after: index)
                }
                if index < line.endIndex { index = line.index(after: index) }
            } else {
                let valueStart = index
                while index < line.endIndex, line[index] != " " { index = line.index(after: index) }
                value = String(line[valueStart..<index])
            }
            pairs.append((key, value))
        }
        return pairs
    }
}

/// Keeps secrets out of what others can read: the values of arguments whose names look secret are masked
/// wherever they appear in a message.
public enum Redaction {
    static let secretWords = ["pass", "secret", "token", "key", "credential", "auth"]

    /// Whether a name (an argument, an environment variable) looks like it holds a secret.
    public static func looksSecret(_ name: String) -> Bool {
        let lower = name.lowercased()
        return secretWords.contains { lower.contains($0) }
    }

    /// The string values of `args` whose keys look secret (recursively), longest first.
    public static func secrets(in args: [String: JSONValue]) -> [String] {
        var found: [String] = []
        func visit(_ object: [String: JSONValue]) {
            for (key, value) in object {
                switch value {
                case .string(let text) where looksSecret(key) && text.count >= 4: found.append(text)
                case .object(let inner): visit(inner)
                default: break
                }
            }
        }
        visit(args)
        return found.sorted { $0.count > $1.count }
    }

    /// Keys whose string values are secrets in a task's output (a database password).
    static let secretOutputWords = ["password", "secret", "token"]

    /// `object` with the string values of secret-looking keys replaced by `***`, at every depth: what may be shown
    /// of a step's output once its secrets are recorded where they belong.
    public static func maskedOutput(_ object: [String: JSONValue]) -> [String: JSONValue] {
        object.reduce(into: [:]) { result, entry in
            let lower = entry.key.lowercased()
            if secretOutputWords.contains(where: lower.contains), case .string = entry.value {
                result[entry.key] = .string("***")
            } else if case .object(let inner) = entry.value {
                result[entry.key] = .object(maskedOutput(inner))
            } else {
                result[entry.key] = entry.value
            }
        }
    }

    /// `text` with every secret replaced by `***`.
    public static func mask(_ text: String, secrets: [String]) -> String {
        var masked = text
        for secret in secrets { masked = masked.replacingOccurrences(of: secret, with: "***") }
        return masked
    }
}
