import DZSystem

/// A snapshot of one queue, from its directories.
public struct QueueStatus: Sendable, Equatable {
    public var queue: QueueName
    /// Task files in `new/` that are due.
    public var waiting = 0
    /// Task files in `new/` with a future mtime (a retry's backoff, a `not_before`).
    public var deferred = 0
    /// Claims in `cur/`.
    public var running = 0
    /// Claims in `cur/` whose lease has expired.
    public var stale = 0
    /// Files in today's `done/`: counted by listing it, or, on a day past `listedUpTo`, the sum of its tallies.
    public var doneToday = 0
    /// Whether `doneToday` is the tallies' sum (see `DoneTally`: it leaves out what was moved by hand, and the
    /// last second of a writer that was killed) rather than a listing's count.
    public var doneTodayTallied = false
    /// Files in `failed/` (every day), not counting `.reason` sidecars.
    public var failed = 0
    /// Seconds the oldest due task has waited in `new/` (by mtime).
    public var oldestWaiting: Double?
    /// Files counted as waiting that do not parse as a task and were modified within `unsettledWindow`: an agent
    /// puts such a file back until it is `--settle` old (a copy may be under way), then moves it to `failed/`. Each
    /// with why it does not parse and its age in seconds; at most `unsettledListed`, the newest.
    public var unsettled: [(name: String, why: String, age: Double)] = []

    /// How recent a file must be to be checked (the longest `--settle` an agent takes).
    public static let unsettledWindow: Double = 3600
    /// Up to this many files in today's `done/` (by its tallies), `status` counts them by listing the directory.
    public static let listedUpTo = 10_000
    /// At most this many recent files of a queue are read to find them.
    public static let unsettledListed = 20

    public static func == (a: QueueStatus, b: QueueStatus) -> Bool {
        a.queue == b.queue && a.waiting == b.waiting && a.deferred == b.deferred && a.running == b.running
            && a.stale == b.stale && a.doneToday == b.doneToday && a.doneTodayTallied == b.doneTodayTallied
            && a.failed == b.failed
            && a.oldestWaiting == b.oldestWaiting
            && a.unsettled.map { "\($0.name) \($0.why) \($0.age)" } == b.unsettled.map { "\($0.name) \($0.why) \($0.age)" }
    }

    public var jsonObject: [String: JSONValue] {
        [
            "queue": .string(queue.rawValue), "waiting": .int(Int64(waiting)), "deferred": .int(Int64(deferred)),
            "running": .int(Int64(running)), "stale": .int(Int64(stale)), "done_today": .int(Int64(doneToday)),
            "done_today_tallied": .bool(doneTodayTallied),
            "failed": .int(Int64(failed)), "oldest_waiting_s": oldestWaiting.map { .double($0) } ?? .null,
            "unsettled": .array(unsettled.map { .object(["name": .string($0.name), "why": .string($0.why),
                                                         "age_s": .double($0.age)]) }),
        ]
    }
}

extension Spool {
    /// Counts the files of `queue`'s stages.
    public func status(of queue: QueueName, skew: Double = 2, now: Timestamp = .now(),
                       listedUpTo: Int = QueueStatus.listedUpTo) -> QueueStatus
    {
        var status = QueueStatus(queue: queue)
        var recent: [(name: String, age: Double)] = []
        for raw in (try? FileSystem.rawNames(in: path(queue, .new))) ?? [] {
            guard let name = String(validating: raw, as: UTF8.self) else {
                // Not UTF-8: no agent can claim it until a rescan sets it aside; it waits until then.
                status.waiting += 1
                continue
            }
            guard Spool.isTaskFileName(name),
                  let file = try? FileSystem.linkStatus(path(queue, .new) + "/" + name) else { continue }
            if Spool.isDeferred(file.modified, now: now) {
                status.deferred += 1
            } else {
                status.waiting += 1
                let age = now - file.modified
                status.oldestWaiting = max(status.oldestWaiting ?? 0, age)
                if age < QueueStatus.unsettledWindow { recent.append((name, age)) }
            }
        }
        // The newest recent files are read: one that does not parse is waited for by the agents, and `dz status`
        // should say why it sits there instead of being run.
        for (name, age) in recent.sorted(by: { $0.age < $1.age }).prefix(QueueStatus.unsettledListed) {
            guard case .contents(let bytes, _)? = try? FileIO.read(path(queue, .new) + "/" + name,
                                                                   limit: TaskFile.maxSize) else { continue }
            do { _ = try TaskFile(parsing: bytes, stem: String(name.dropLast(".json".count))) } catch {
                status.unsettled.append((name, error.message, age))
            }
        }
        for name in (try? FileSystem.names(in: path(queue, .cur))) ?? [] {
            let claim: ClaimName
            switch CurEntry(fileName: name) {
            case .claim(let held), .committed(let held, _): claim = held
            default: continue
            }
            status.running += 1
            if let file = try? FileSystem.linkStatus(path(queue, .cur) + "/" + name),
               now - file.lastTouched > Double(claim.effectiveLeaseSeconds) + skew
            {
                status.stale += 1
            }
        }
        // A busy day's done/ holds a million names: past `listedUpTo`, the tallies its writers keep are read
        // instead of listing it (see `DoneTally`); below, the listing is cheap and counts what was moved by hand too.
        if let sum = tallied(queue, day: now.utcDay), sum >= listedUpTo {
            status.doneToday = sum
            status.doneTodayTallied = true
        } else {
            status.doneToday = (try? FileSystem.count(in: path(queue, .done) + "/" + now.utcDay)) ?? 0
        }
        for day in (try? FileSystem.names(in: path(queue, .failed))) ?? [] {
            let names = (try? FileSystem.names(in: path(queue, .failed) + "/" + day)) ?? []
            status.failed += names.filter { !$0.hasSuffix(".reason") }.count
        }
        return status
    }
}
