import DZSpool
import Foundation

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// The fuzz test's hands and eyes on the spool: it puts each `FuzzFile` into its queue's `new/` (by a rename from a
/// staging directory, as a careful writer does, names that are not UTF-8 included), and afterwards finds every
/// place a file could have gone.
struct FuzzSpoolView {
    let root: String
    let staging: String

    // MARK: placing

    /// The targets of the symbolic links `FuzzCorpus.kinds` makes, under `<root>/fuzz-targets/` (a directory
    /// without `new/`, so not a queue): a valid file per inbox, a FIFO, a directory, a file over 1 MiB, a loop.
    func makeLinkTargets() throws {
        let dir = root + "/fuzz-targets"
        try FileManager.default.createDirectory(atPath: dir + "/dir", withIntermediateDirectories: true)
        for inbox in FuzzFile.Inbox.allCases {
            try write(FuzzCorpus.minimal(inbox), to: dir + "/valid-\(inbox.rawValue).json")
        }
        try write(Array(#"{"task": "noop", "pad": ""#.utf8) + [UInt8](repeating: 0x70, count: 1 << 20) + Array(#""}"#.utf8),
                  to: dir + "/big.json")
        guard mkfifo(dir + "/fifo", 0o600) == 0, symlink("loop-b", dir + "/loop-a") == 0,
              symlink("loop-a", dir + "/loop-b") == 0
        else { throw SetupFailure("cannot make the link targets: errno \(errno)") }
    }

    func write(_ bytes: [UInt8], to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw SetupFailure("cannot write \(path)")
        }
    }

    /// Makes `file` in the staging directory (as `number`), sets its modification time (an hour ago unless the
    /// file says), and renames it into its queue's `new/` under its name.
    func place(_ file: FuzzFile, number: Int, now: Double) throws {
        let staged = staging + "/\(number)"
        switch file.shape {
        case .bytes(let bytes):
            try write(bytes, to: staged)
            var times = [timespec(tv_sec: 0, tv_nsec: 0), timespec(tv_sec: 0, tv_nsec: 0)]
            let seconds = file.mtime ?? (now - 3600)
            times[0] = timespec(tv_sec: Int(seconds), tv_nsec: 0)
            times[1] = times[0]
            guard utimensat(AT_FDCWD, staged, &times, 0) == 0 else {
                throw SetupFailure("cannot set the mtime of \(file) to \(seconds): errno \(errno)")
            }
        case .fifo:
            guard mkfifo(staged, 0o600) == 0 else { throw SetupFailure("mkfifo: errno \(errno)") }
        case .directory:
            try FileManager.default.createDirectory(atPath: staged, withIntermediateDirectories: false)
        case .symlink(let target):
            let text: [UInt8]
            switch target {
            case .outside(let path): text = Array(path.utf8)
            case .inSpool(let path): text = Array((root + "/" + path).utf8)
            case .relative("SELF"): text = file.name
            case .relative(let path): text = Array(path.utf8)
            }
            let made = (text + [0]).withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { symlink($0.baseAddress!, staged) }
            }
            guard made == 0 else { throw SetupFailure("symlink: errno \(errno)") }
        }
        let target = Array((root + "/" + file.inbox.queue + "/new/").utf8) + file.name + [0]
        let moved = target.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { Glibc.rename(staged, $0.baseAddress!) }
        }
        guard moved == 0 else { throw SetupFailure("cannot rename \(file) into place: errno \(errno)") }
    }

    // MARK: looking

    /// The names in `dir` as bytes (names need not be UTF-8).
    static func rawNames(_ dir: String) -> [[UInt8]] {
        guard let handle = opendir(dir) else { return [] }
        defer { closedir(handle) }
        var names: [[UInt8]] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if name != [0x2E], name != [0x2E, 0x2E] { names.append(name) }
        }
        return names
    }

    static func names(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
    }

    /// What one queue holds, taken once the processes have stopped.
    struct Snapshot {
        let queue: String
        let path: String
        var new: Set<[UInt8]> = []
        var cur: [String] = []
        /// `done/` and `failed/`: each name (without day) to its paths (a name could be in two days).
        var done: [String: [String]] = [:]
        var failed: [String: [String]] = [:]
        /// The `file=` and `task=` of every reason in `failed/`, to the path of the file it is beside.
        var reasons: [String: [String]] = [:]

        init(root: String, queue: String) {
            self.queue = queue
            path = root + "/" + queue
            new = Set(FuzzSpoolView.rawNames(path + "/new"))
            cur = FuzzSpoolView.names(path + "/cur")
            for day in FuzzSpoolView.names(path + "/done") {
                for name in FuzzSpoolView.names(path + "/done/" + day) {
                    done[name, default: []].append(path + "/done/" + day + "/" + name)
                }
            }
            for day in FuzzSpoolView.names(path + "/failed") {
                for name in FuzzSpoolView.names(path + "/failed/" + day) {
                    let full = path + "/failed/" + day + "/" + name
                    if name.hasSuffix(".reason") {
                        let fields = FuzzSpoolView.reason(at: full)
                        for key in ["file", "task"] {
                            if let value = fields[key] { reasons[value, default: []].append(String(full.dropLast(7))) }
                        }
                    } else {
                        failed[name, default: []].append(full)
                    }
                }
            }
        }

        /// Every place `name` (its bytes) is in: `new/`, a claim in `cur/`, `done/` or `failed/` under its name,
        /// a `~N` variant of it, or the name its reason gives (shortened names, names that are not UTF-8).
        func locate(_ name: [UInt8]) -> [String] {
            var found: [String] = []
            if new.contains(name) { found.append(path + "/new/" + (String(validating: name, as: UTF8.self) ?? "<not UTF-8>")) }
            guard let text = String(validating: name, as: UTF8.self) else {
                let hex = name.prefix(100).map { String($0 >> 4, radix: 16) + String($0 & 15, radix: 16) }.joined()
                let moved = "unreadable-name-" + hex + ".json"
                found += Set((failed[moved] ?? []) + (reasons[moved] ?? [])).sorted()
                return found
            }
            let stem = text.hasSuffix(".json") ? String(text.dropLast(5)) : text
            if FuzzSpec.isTaskID(stem) {
                found += cur.filter { $0.hasPrefix(stem + "@") }.map { path + "/cur/" + $0 }
            }
            func variants(_ table: [String: [String]]) -> [String] {
                var paths = table[text] ?? []
                for (other, places) in table where other.hasPrefix(stem + "~") && other.hasSuffix(".json")
                    && other.dropFirst(stem.count + 1).dropLast(5).allSatisfy(\.isNumber) {
                    paths += places
                }
                return paths
            }
            found += variants(done)
            found += Set(variants(failed) + (reasons[text] ?? []).filter { FileManager.default.fileExists(atPath: $0) || isLink($0) })
                .sorted()
            return found
        }
    }

    /// A reason file's fields.
    static func reason(at path: String) -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path) else { return [:] }
        let line = Substring(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines))
        var fields: [String: String] = [:]
        for (key, value) in Logfmt.parse(line) where fields[key] == nil { fields[key] = value }
        return fields
    }

    static func isLink(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFLNK
    }
}
