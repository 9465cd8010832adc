import DZSystem

/// What `collectGarbage` removed.
public struct GarbageReport: Sendable, Equatable {
    public var directories = 0
    public var files = 0
    public var heartbeats = 0
    public var logs = 0
}

extension Spool {
    /// Deletes the day directories of `done/` and `failed/` older than `seconds`, and heartbeats not renewed in
    /// that long; with `logs`, also the audit log's day files that old (otherwise the audit history is kept).
    public func collectGarbage(olderThan seconds: Double, logs: Bool = false, now: Timestamp = .now())
        throws(SpoolError) -> GarbageReport
    {
        let cutoffDay = (now + -seconds).utcDay
        var report = GarbageReport()
        for queue in try queues() {
            for stage in [Stage.done, .failed] {
                let stageDir = path(queue, stage)
                for day in (try? FileSystem.names(in: stageDir)) ?? [] where Spool.isDayName(day) && day < cutoffDay {
                    let dir = stageDir + "/" + day
                    for name in (try? FileSystem.names(in: dir)) ?? [] {
                        if (try? FileSystem.unlink(dir + "/" + name)) != nil { report.files += 1 }
                    }
                    if (try? FileSystem.removeDirectory(dir)) != nil { report.directories += 1 }
                    audit.record("gc", [("queue", queue.rawValue), ("dir", relative(dir))])
                }
            }
        }
        if logs {
            for hostDir in (try? FileSystem.names(in: logPath)) ?? [] {
                let dir = logPath + "/" + hostDir
                for file in (try? FileSystem.names(in: dir)) ?? [] where file.hasSuffix(".log") {
                    let day = String(file.dropLast(4))
                    guard Spool.isDayName(day), day < cutoffDay else { continue }
                    if (try? FileSystem.unlink(dir + "/" + file)) != nil { report.logs += 1 }
                }
            }
        }
        for beat in heartbeats() where now - beat.updated > seconds {
            removeHeartbeat(host: beat.host, pid: beat.pid)
            report.heartbeats += 1
        }
        return report
    }

    static func isDayName(_ name: String) -> Bool {
        name.count == 10 && name.utf8.enumerated().allSatisfy { index, byte in
            index == 4 || index == 7 ? byte == UInt8(ascii: "-") : (48...57).contains(byte)
        }
    }

    /// Puts failed tasks back into `new/` with attempt 1: those named by `ids`, or all of the queue's failed
    /// tasks when `ids` is empty. The failed copy and its reason are removed once the task waits again.
    /// Returns the ids requeued; bad input that still does not parse is reported, not requeued.
    public func requeueFailed(_ queue: QueueName, ids: [String]) throws(SpoolError)
        -> (requeued: [TaskID], refused: [(String, String)])
    {
        var requeued: [TaskID] = []
        var refused: [(String, String)] = []
        let wanted = Set(ids)
        let failedDir = path(queue, .failed)
        var latest: [String: String] = [:]
        for day in ((try? FileSystem.names(in: failedDir)) ?? []).sorted() {
            for name in (try? FileSystem.names(in: failedDir + "/" + day)) ?? [] where name.hasSuffix(".json") {
                var stem = String(name.dropLast(5))
                if let tilde = stem.firstIndex(of: "~") { stem = String(stem[..<tilde]) }
                guard wanted.isEmpty || wanted.contains(stem) else { continue }
                latest[stem] = failedDir + "/" + day + "/" + name
            }
        }
        for id in wanted where latest[id] == nil { refused.append((id, "not found in \(relative(failedDir))")) }
        for (stem, file) in latest.sorted(by: { $0.key < $1.key }) {
            guard case .contents(let bytes, _)? = try? FileIO.read(file, limit: TaskFile.maxSize) else {
                refused.append((stem, "unreadable"))
                continue
            }
            var task: TaskFile
            do { task = try TaskFile(parsing: bytes, stem: stem) } catch {
                refused.append((stem, "still bad input: \(error.message)"))
                continue
            }
            task.attempt = 1
            task.notBefore = nil
            do {
                try drop(task, into: queue)
            } catch {
                refused.append((stem, error.description))
                continue
            }
            try? FileSystem.unlink(file)
            try? FileSystem.unlink(file + ".reason")
            audit.record("requeued", [("queue", queue.rawValue), ("task", stem), ("from", relative(file))])
            requeued.append(task.id)
        }
        return (requeued, refused)
    }
}
