import DZSystem
import Synchronization

extension Spool {
    /// Moves a file that was never claimed from `new/` straight to `failed/`, with its reason beside it.
    func rejectWaiting(_ fileName: String, in queue: QueueName, _ bad: BadInput) throws(SpoolError) -> ClaimOutcome {
        let source = path(queue, .new) + "/" + fileName
        guard let placed = try moveAside(source, as: fileName, in: queue, to: .failed) else { return .lost }
        recordRejection(placed, fileName: fileName, in: queue, bad)
        return .rejected(bad)
    }

    /// Moves a claimed file to `failed/` under its original name, with its reason beside it.
    func rejectClaimed(
        _ claimPath: String, originalName: String, in queue: QueueName, _ bad: BadInput, task: TaskFile?
    ) throws(SpoolError) -> ClaimOutcome {
        guard let placed = try moveAside(claimPath, as: originalName, in: queue, to: .failed) else { return .lost }
        recordRejection(placed, fileName: originalName, in: queue, bad)
        return .rejected(bad)
    }

    /// Rejects a claimed task for a reason found after parsing (an unknown task name, bad arguments).
    public func reject(_ claim: Claim, _ bad: BadInput) throws(SpoolError) {
        _ = try rejectClaimed(claim.path, originalName: claim.task.id.rawValue + ".json", in: claim.queue, bad,
                              task: claim.task)
    }

    private func recordRejection(_ placed: String, fileName: String, in queue: QueueName, _ bad: BadInput) {
        writeReason(beside: placed, queue: queue, fields: [("file", fileName), ("kind", bad.kind),
                                                           ("reason", bad.message)])
        audit.record("rejected", [("queue", queue.rawValue), ("file", fileName), ("kind", bad.kind),
                                  ("reason", bad.message), ("moved_to", relative(placed))])
    }

    /// Renames `source` into the queue's `stage/<day>/` as `name`, or `name~2`, `name~3`... if taken: nothing
    /// there is ever replaced. Returns the final path, or `nil` when `source` was gone (another process moved it).
    /// Names too long to have `~N` and `.reason` added within NAME_MAX are shortened (see `Spool.keptName`).
    /// Without `durable`, the day directory is not fsynced: the caller does it, once for several moves.
    func moveAside(_ source: String, as name: String, in queue: QueueName, to stage: Stage,
                   durable: Bool = true) throws(SpoolError) -> String?
    {
        let dir = try dayDirectory(queue, stage)
        let name = Spool.keptName(name)
        var candidate = name
        for number in 2...10_000 {
            let target = dir + "/" + candidate
            do {
                try FileSystem.renameExclusive(source, target)
            } catch .fileExists {
                candidate = Spool.numbered(name, number)
                continue
            } catch .noSuchFileOrDirectory {
                return nil
            } catch {
                // NFS may report a rename that happened as failed.
                if !FileSystem.exists(source) {
                    guard FileSystem.exists(target) else { return nil }
                } else {
                    throw error.at("rename", source)
                }
            }
            if durable { try makeDurable(dir) }
            if stage == .done, let slash = dir.lastIndex(of: "/") {
                doneTally.moved(into: queue, day: String(dir[dir.index(after: slash)...]), spool: self)
            }
            return target
        }
        throw Errno.fileExists.at("rename", dir + "/" + name)
    }

    /// `abc.json` numbered 2 is `abc~2.json`: `~` is outside the id alphabet, so it never names another task.
    static func numbered(_ name: String, _ number: Int) -> String {
        if name.hasSuffix(".json") { return String(name.dropLast(5)) + "~\(number).json" }
        return name + "~\(number)"
    }

    /// The longest name kept in `done/` or `failed/`: 255 bytes (NAME_MAX) less `~10000` and `.reason`.
    static let longestKeptName = 255 - 6 - 7

    /// `name` itself when it leaves room for `~N` and `.reason`; else its first bytes, a `-` and a hash of the
    /// whole name, with `.json` kept (the reason beside it records the name in full).
    static func keptName(_ name: String) -> String {
        guard name.utf8.count > longestKeptName else { return name }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        let tail = "-" + String(hash, radix: 16) + (name.hasSuffix(".json") ? ".json" : "")
        var head = Substring(name)
        while head.utf8.count > longestKeptName - tail.utf8.count { head = head.dropLast() }
        return String(head) + tail
    }

    /// Writes `<file>.reason` beside a file in `failed/`: one logfmt line saying when, who and why. When it cannot
    /// be written (a full disk), it is kept in memory and written by `writePendingReasons` once it can.
    func writeReason(beside file: String, queue: QueueName, fields: [(String, String)]) {
        var line = "ts=\(Timestamp.now().rfc3339) host=\(host.rawValue) pid=\(pid) queue=\(queue.rawValue)"
        for (key, value) in fields { line += " \(key)=\(Logfmt.quote(value))" }
        line += "\n"
        if !writeReasonFile(file + ".reason", line, queue: queue) {
            pending.reasons.withLock { reasons in
                if reasons.count < 10_000 { reasons.append((file + ".reason", line, queue)) }
            }
        }
    }

    private func writeReasonFile(_ path: String, _ line: String, queue: QueueName) -> Bool {
        guard let temporary = try? writeTemporary(Array(line.utf8), in: queue, hint: "reason") else { return false }
        do { try FileSystem.rename(temporary, path) } catch {
            try? FileSystem.unlink(temporary)
            return false
        }
        return true
    }

    /// Writes the reasons that could not be written when their files were set aside (the disk was full), and
    /// the audit lines kept back for the same cause. Returns how many reasons are still waiting.
    @discardableResult
    public func writePendingReasons() -> Int {
        audit.flush()
        let waiting = pending.reasons.withLock { reasons in
            let taken = reasons
            reasons.removeAll()
            return taken
        }
        var failed: [(String, String, QueueName)] = []
        for (path, line, queue) in waiting where !writeReasonFile(path, line, queue: queue) {
            failed.append((path, line, queue))
        }
        pending.reasons.withLock { $0.insert(contentsOf: failed, at: 0) }
        return failed.count
    }

    /// A path relative to the spool root, for logs.
    func relative(_ path: String) -> String {
        path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : path
    }
}

extension Spool {
    /// Moves every file of the queue's `new/` whose name is not valid UTF-8 to `failed/` as
    /// `unreadable-name-<hex>.json`, with a reason holding the name's bytes in hex: such a name can be neither
    /// claimed nor shown, and must not sit there unseen. Returns the new names.
    @discardableResult
    public func rejectUnreadableNames(in queue: QueueName) -> [String] {
        let dir = path(queue, .new)
        guard let names = try? FileSystem.rawNames(in: dir) else { return [] }
        var moved: [String] = []
        for raw in names where String(validating: raw, as: UTF8.self) == nil {
            let hex = raw.prefix(100).map { String($0 >> 4, radix: 16) + String($0 & 15, radix: 16) }.joined()
            let name = "unreadable-name-" + hex + ".json"
            guard let day = try? dayDirectory(queue, .failed) else { return moved }
            var target = day + "/" + name
            for number in 2...100 where FileSystem.exists(target) { target = day + "/" + Spool.numbered(name, number) }
            guard (try? FileSystem.rename(entry: raw, in: dir, to: target)) != nil else { continue }
            syncDirectory(day)
            let bad = BadInput("name", "the file name is not valid UTF-8 (its bytes in hex: \(hex))")
            writeReason(beside: target, queue: queue, fields: [("file", name), ("kind", bad.kind), ("reason", bad.message)])
            audit.record("rejected", [("queue", queue.rawValue), ("file", name), ("kind", bad.kind),
                                      ("reason", bad.message), ("moved_to", relative(target))])
            moved.append(String(target.split(separator: "/").last!))
        }
        return moved
    }
}
