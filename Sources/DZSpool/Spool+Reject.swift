import DZSystem

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
    func moveAside(_ source: String, as name: String, in queue: QueueName, to stage: Stage) throws(SpoolError)
        -> String?
    {
        let dir = try dayDirectory(queue, stage)
        var candidate = name
        for number in 2...10_000 {
            let target = dir + "/" + candidate
            do {
                try FileSystem.renameNoReplace(source, target)
                syncDirectory(dir)
                return target
            } catch .fileExists {
                candidate = Spool.numbered(name, number)
            } catch {
                if !FileSystem.exists(source) {
                    return FileSystem.exists(target) ? target : nil
                }
                throw error.at("rename", source)
            }
        }
        throw Errno.fileExists.at("rename", dir + "/" + name)
    }

    /// `abc.json` numbered 2 is `abc~2.json`: `~` is outside the id alphabet, so it never names another task.
    static func numbered(_ name: String, _ number: Int) -> String {
        if name.hasSuffix(".json") { return String(name.dropLast(5)) + "~\(number).json" }
        return name + "~\(number)"
    }

    /// Writes `<file>.reason` beside a file in `failed/`: one logfmt line saying when, who and why.
    func writeReason(beside file: String, queue: QueueName, fields: [(String, String)]) {
        var line = "ts=\(Timestamp.now().rfc3339) host=\(host.rawValue) pid=\(pid) queue=\(queue.rawValue)"
        for (key, value) in fields { line += " \(key)=\(Logfmt.quote(value))" }
        line += "\n"
        guard let temporary = try? writeTemporary(Array(line.utf8), in: queue, hint: "reason") else { return }
        do { try FileSystem.rename(temporary, file + ".reason") } catch { try? FileSystem.unlink(temporary) }
    }

    /// A path relative to the spool root, for logs.
    func relative(_ path: String) -> String {
        path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : path
    }
}
