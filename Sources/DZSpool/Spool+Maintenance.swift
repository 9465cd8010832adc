import DZSystem
import Foundation

/// What `collectGarbage` removed.
public struct GarbageReport: Sendable, Equatable {
    public var directories = 0
    public var files = 0
    public var heartbeats = 0
    public var logs = 0
    public var tombstones = 0
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
                    let count = ((try? FileSystem.names(in: dir)) ?? []).count
                    // A day may hold a rejected directory: remove the tree, not just the files.
                    guard (try? FileManager.default.removeItem(atPath: dir)) != nil else { continue }
                    report.files += count
                    report.directories += 1
                    audit.record("gc", [("queue", queue.rawValue), ("dir", relative(dir)), ("files", String(count))])
                }
            }
            // The tallies of the days removed (see `DoneTally`).
            let tallies = root + "/" + queue.rawValue + "/tally"
            for day in (try? FileSystem.names(in: tallies)) ?? [] where Spool.isDayName(day) && day < cutoffDay {
                try? FileManager.default.removeItem(atPath: tallies + "/" + day)
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
        for name in (try? FileSystem.names(in: cancelPath)) ?? [] where !name.hasPrefix(".") {
            let tombstone = cancelPath + "/" + name
            guard let status = try? FileSystem.linkStatus(tombstone), now - status.modified > seconds else { continue }
            if (try? FileSystem.unlink(tombstone)) != nil { report.tombstones += 1 }
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
        -> (requeued: [TaskID], refused: [(String, RequeueRefusal)])
    {
        var requeued: [TaskID] = []
        var refused: [(String, RequeueRefusal)] = []
        let wanted = Set(ids)
        // The results queue holds results, not tasks: its failed/ is never run again.
        guard queue != .results else { return ([], []) }
        let failedDir = path(queue, .failed)
        // The newest failed copy of each id: the latest day, then the highest `~N`.
        var latest: [String: (day: String, number: Int, path: String)] = [:]
        for day in ((try? FileSystem.names(in: failedDir)) ?? []).sorted() {
            for name in (try? FileSystem.names(in: failedDir + "/" + day)) ?? [] where name.hasSuffix(".json") {
                var stem = String(name.dropLast(5))
                var number = 1
                if let tilde = stem.firstIndex(of: "~") {
                    number = Int(stem[stem.index(after: tilde)...]) ?? 1
                    stem = String(stem[..<tilde])
                }
                guard wanted.isEmpty || wanted.contains(stem) else { continue }
                if let known = latest[stem], (known.day, known.number) > (day, number) { continue }
                latest[stem] = (day, number, failedDir + "/" + day + "/" + name)
            }
        }
        for id in wanted where latest[id] == nil { refused.append((id, .notFound(location: relative(failedDir)))) }
        for (stem, entry) in latest.sorted(by: { $0.key < $1.key }) {
            let file = entry.path
            guard case .contents(let bytes, _)? = try? FileIO.read(file, limit: TaskFile.maxSize) else {
                refused.append((stem, .unreadable))
                continue
            }
            var task: TaskFile
            do { task = try TaskFile(parsing: bytes, stem: stem) } catch {
                refused.append((stem, .stillBadInput(error.message)))
                continue
            }
            task.attempt = 1
            task.notBefore = nil
            // The failed attempt's result, if nobody took it in, would block the new one (results are never
            // replaced): set it aside as superseded.
            let oldResult = path(task.replyTo, .new) + "/" + stem + ".json"
            if FileSystem.exists(oldResult),
               let placed = try? moveAside(oldResult, as: stem + ".json", in: task.replyTo, to: .failed)
            {
                writeReason(beside: placed, queue: task.replyTo,
                            fields: [("task", stem), ("kind", "superseded"), ("reason", "the task was requeued")])
            }
            do {
                try drop(task, into: queue)
            } catch {
                refused.append((stem, .notDropped(error)))
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
