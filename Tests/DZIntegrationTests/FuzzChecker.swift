import DZSpool
import DZStore
import Foundation

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Checks, after a fuzz run and with every process stopped, that each file is where its `FuzzExpectation` says,
/// with what must come with it: a reason of the right kind, exactly one result (of the right status, kind and
/// output) for a task that ran, one audit line for what was rejected or finished.
struct FuzzChecker {
    let root: String
    let spool: TestSpool
    let snapshots: [String: FuzzSpoolView.Snapshot]
    let audit: [AuditRecord]
    /// `rejected` lines by queue and file, `finished` lines by queue and task.
    let rejected: [String: Int]
    let finished: [String: Int]

    init(root: String, spool: TestSpool) {
        self.root = root
        self.spool = spool
        var snapshots: [String: FuzzSpoolView.Snapshot] = [:]
        for queue in FuzzSpoolView.names(root) where FileManager.default.fileExists(atPath: root + "/" + queue + "/new") {
            snapshots[queue] = FuzzSpoolView.Snapshot(root: root, queue: queue)
        }
        self.snapshots = snapshots
        audit = spool.auditRecords()
        var rejected: [String: Int] = [:]
        var finished: [String: Int] = [:]
        for record in audit {
            let queue = record["queue"] ?? ""
            if record.event == "rejected" { rejected[queue + "/" + (record["file"] ?? ""), default: 0] += 1 }
            if record.event == "finished" { finished[queue + "/" + (record["task"] ?? ""), default: 0] += 1 }
        }
        self.rejected = rejected
        self.finished = finished
    }

    // MARK: one file

    /// Where `file` ended (a word for the report), and what is wrong about it.
    func check(_ file: FuzzFile, _ expectation: FuzzExpectation) -> (String, [String]) {
        guard let snapshot = snapshots[file.inbox.queue] else { return ("lost", ["its queue is gone"]) }
        let found = snapshot.locate(file.name)
        guard found.count == 1, let path = found.first else {
            return (found.isEmpty ? "lost" : "duplicated",
                    ["expected \(expectation); found in \(found.count) places: \(found.map(relative))"])
        }
        let stage = relative(path).split(separator: "/").dropFirst().first.map(String.init) ?? ""
        switch stage {
        case "new":
            if expectation.places.contains(.stays), isUnchanged(file, path) { return ("stays", noResult(expectation)) }
            if expectation.places.contains(.requeued), let task = expectation.task,
               let again = try? TaskFile(parsing: contents(path), stem: task.id.rawValue), again.attempt > task.attempt
            {
                return ("requeued", [])
            }
            return ("new", ["expected \(expectation), but it is in new/ (\(isUnchanged(file, path) ? "untouched" : "changed"))"])
        case "cur":
            return ("cur", ["expected \(expectation), but it is left claimed: \(relative(path))"])
        case "done":
            guard expectation.places.contains(.done) else {
                return ("done", ["expected \(expectation), but it is in done/"])
            }
            guard file.inbox == .tasks, let task = expectation.task else { return ("done", []) }
            return ("done", checkResult(task, status: .ok, kind: nil, output: expectation.output))
        case "failed":
            let reason = FuzzSpoolView.reason(at: path + ".reason")
            guard let kind = reason["kind"] else {
                return ("failed", ["expected \(expectation), but it is in failed/ without a reason: \(relative(path))"])
            }
            if reason["file"] != nil {
                guard expectation.places.contains(.rejected(kind)) else {
                    return ("rejected", ["expected \(expectation), but it was rejected (\(kind)): \(reason["reason"] ?? "")"])
                }
                var problems = noResult(expectation)
                let logged = rejected[file.inbox.queue + "/" + auditName(file)] ?? 0
                if logged != 1 { problems.append("rejected (\(kind)) with \(logged) rejected lines in the audit log") }
                return ("rejected " + kind, problems)
            }
            guard expectation.places.contains(.failedTask(kind)) || expectation.places.contains(.failedTask("*")),
                  let task = expectation.task
            else {
                return ("failed", ["expected \(expectation), but it failed (\(kind)): \(reason["reason"] ?? "")"])
            }
            return ("failed " + kind, checkResult(task, status: .error, kind: kind, output: nil))
        default:
            return ("?", ["expected \(expectation), found at \(relative(path))"])
        }
    }

    /// The name a `rejected` audit line gives the file: as it is, with control characters other than newline,
    /// return and tab shown as `?` (logfmt), and names that are not UTF-8 under their new name.
    func auditName(_ file: FuzzFile) -> String {
        guard let text = file.nameText else {
            return "unreadable-name-" + file.name.prefix(100).map { String($0 >> 4, radix: 16) + String($0 & 15, radix: 16) }.joined() + ".json"
        }
        return String(String.UnicodeScalarView(text.unicodeScalars.map { scalar in
            (scalar.value < 0x20 && !["\n", "\r", "\t"].contains(scalar)) || scalar.value == 0x7F ? "?" : scalar
        }))
    }

    /// A file left in `new/` is as it was put there: the same kind, and for a regular file the same bytes.
    func isUnchanged(_ file: FuzzFile, _ path: String) -> Bool {
        guard let name = file.nameText else { return true }
        let full = root + "/" + file.inbox.queue + "/new/" + name
        var status = stat()
        guard lstat(full, &status) == 0 else { return false }
        switch file.shape {
        case .bytes(let bytes): return status.st_mode & S_IFMT == S_IFREG && contents(full) == bytes
        case .fifo: return status.st_mode & S_IFMT == S_IFIFO
        case .directory: return status.st_mode & S_IFMT == S_IFDIR
        case .symlink: return status.st_mode & S_IFMT == S_IFLNK
        }
    }

    func contents(_ path: String) -> [UInt8] { [UInt8](FileManager.default.contents(atPath: path) ?? Data()) }

    func relative(_ path: String) -> String { path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : path }

    // MARK: results

    /// Every result of task `id` in its reply queue: waiting, or taken by the coordinator into `done/` (or, which
    /// would be wrong, `failed/`).
    func results(of task: TaskFile) -> [String] {
        let name = task.id.rawValue + ".json"
        let queue = task.replyTo.rawValue
        guard let snapshot = snapshots[queue] else { return [] }
        var paths = (snapshot.done[name] ?? []) + (snapshot.failed[name] ?? [])
        if snapshot.new.contains(Array(name.utf8)) { paths.append(snapshot.path + "/new/" + name) }
        return paths
    }

    /// A task that ran has exactly one result, of `status` (and error `kind`, and `output`), and one `finished`
    /// line.
    func checkResult(_ task: TaskFile, status: ResultFile.Status, kind: String?, output: [String: JSONValue]?) -> [String] {
        var problems: [String] = []
        let found = results(of: task)
        guard found.count == 1, let path = found.first else {
            return ["\(found.count) results delivered: \(found.map(relative))"]
        }
        if relative(path).hasPrefix("results/failed/") { problems.append("its result was rejected by the coordinator") }
        guard let result = try? ResultFile(parsing: contents(path)) else { return problems + ["its result does not parse"] }
        if result.status != status { problems.append("its result's status is \(result.status), not \(status)") }
        if let kind, kind != "*", result.error?.kind != kind {
            problems.append("its result's error is \(result.error?.kind ?? "none"), not \(kind)")
        }
        if let output, status == .ok, !FuzzChecker.same(.object(output), .object(result.output)) {
            problems.append("echo's output is not its arguments: \(JSONValue.object(result.output).jsonText.prefix(200))")
        }
        let logged = finished["build/" + task.id.rawValue] ?? 0
        if logged != 1 { problems.append("\(logged) finished lines in the audit log") }
        return problems
    }

    /// A file that did not run has no result.
    func noResult(_ expectation: FuzzExpectation) -> [String] {
        guard let task = expectation.task, !results(of: task).isEmpty else { return [] }
        return ["a result was delivered for it: \(results(of: task).map(relative))"]
    }

    /// Equal as JSON: numbers by value (a whole double is written as an integer).
    static func same(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.int(let x), .double(let y)), (.double(let y), .int(let x)): return Double(x) == y
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
        case (.object(let x), .object(let y)):
            return x.count == y.count && x.allSatisfy { key, value in y[key].map { same(value, $0) } ?? false }
        default: return a == b
        }
    }

    // MARK: readers

    /// dz's reader's verdict on the file's bytes, when its name is a valid id (else the name decides first).
    func readerVerdict(_ file: FuzzFile) -> Bool? {
        guard case .bytes(let bytes) = file.shape, let name = file.nameText, name.hasSuffix(".json") else { return nil }
        let stem = String(name.dropLast(5))
        guard FuzzSpec.isTaskID(stem) else { return nil }
        switch file.inbox {
        case .tasks, .requests: return (try? TaskFile(parsing: bytes, stem: stem)) != nil
        case .results: return (try? ResultFile(parsing: bytes)) != nil
        }
    }

    // MARK: the whole spool

    /// Every audit line is one event: logfmt with `ts`, `host`, `pid` and `event` (no field broke a line).
    func checkAuditLog() -> [String] {
        audit.filter { record in ["ts", "host", "pid", "event"].contains { record[$0] == nil } }
            .prefix(10).map { "an audit line is not one event: \($0.line.prefix(300))" }
    }

    /// `dz status --json` counts what is in each queue: waiting and deferred names in `new/` (those dz
    /// considers, and names that are not UTF-8), no claims, every file in `failed/`, today's `done/`.
    func checkStatus() async throws -> [String] {
        let output = try await spool.dz(["status", "--json"])
        guard output.status == 0, case .object(let object)? = try? JSONValue.parse(Array(output.stdout.utf8)),
              case .array(let queues)? = object["queues"]
        else { return ["dz status --json failed: \(output)"] }
        var problems: [String] = []
        let today = String(ISO8601DateFormatter().string(from: Date()).prefix(10))
        for case .object(let entry) in queues {
            guard case .string(let queue)? = entry["queue"], let snapshot = snapshots[queue] else { continue }
            func number(_ key: String) -> Int64 { entry[key]?.intValue ?? -1 }
            let inNew = snapshot.new.filter { raw in
                guard let name = String(validating: raw, as: UTF8.self) else { return true }
                return FuzzSpec.isConsidered(name)
            }.count
            let failed = snapshot.failed.values.reduce(0) { $0 + $1.count }
            let doneToday = FuzzSpoolView.names(snapshot.path + "/done/" + today).count
            let counted = (number("waiting") + number("deferred"), number("running"), number("failed"), number("done_today"))
            if counted != (Int64(inNew), 0, Int64(failed), Int64(doneToday)) {
                problems.append("dz status counts \(queue) as waiting+deferred \(counted.0), running \(counted.1), "
                                + "failed \(counted.2), done today \(counted.3); it holds \(inNew), 0, \(failed), \(doneToday)")
            }
        }
        return problems
    }

    /// The zoomdb holds a job for every submission the coordinator took in (failed, for those refused at intake:
    /// unknown kind, bad parameter), none for a request that was bad input; every real step that got a valid
    /// forged result has ended.
    func checkJobs(_ files: [FuzzFile], _ context: FuzzExpectation.Context) -> [String] {
        let path = spool.zoomdbPath
        guard let db = try? ZoomDB(path: path) else { return ["cannot open the zoomdb at \(path)"] }
        var problems: [String] = []
        for file in files where file.inbox == .requests {
            let expectation = FuzzExpectation.expect(file, context)
            guard expectation.places.count == 1, let stem = file.nameText.map({ String($0.dropLast(5)) }),
                  FuzzSpec.isTaskID(stem) else { continue }
            let job = try? db.job(stem)
            if let (_, failed) = expectation.job {
                if job == nil {
                    problems.append("\(file): no job \(stem) in the zoomdb")
                } else if failed, job?.state != .failed {
                    problems.append("\(file): job \(stem) is \(job?.state.rawValue ?? "?"), not failed")
                }
            } else if case .rejected(let kind)? = expectation.places.first, kind != "not-found", job != nil {
                problems.append("\(file): rejected (\(kind)) yet job \(stem) is in the zoomdb")
            }
        }
        for file in files where file.inbox == .results && file.label.hasPrefix("step ") {
            guard FuzzExpectation.expect(file, context).places == [.done], case .bytes(let bytes) = file.shape,
                  let result = try? ResultFile(parsing: bytes) else { continue }
            if let step = try? db.step(taskID: result.id.rawValue), !step.state.isFinal {
                problems.append("\(file): step \(result.id) is still \(step.state.rawValue) after a valid result")
            }
        }
        return problems
    }
}
