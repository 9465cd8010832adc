import DZSystem
import Synchronization

/// How many files this process moved into each queue's `done/<day>/`, written where `dz status` reads them, so
/// that a day of a million finished tasks is counted without listing a million names.
///
/// Each writing process keeps its own file, `<queue>/tally/<day>/<host>.<pid>.<token>`, holding the number
/// of files it moved into that day's `done/` (a decimal number and a newline), replaced whole by a rename: no
/// two processes (on one host or on several sharing the spool over NFS) ever write one file, and a reader sees a
/// writer's old number or its new one. A day's tally is the sum of its files.
///
/// What may make it differ from the directory's real count, and by how much:
/// - A file is written at most once a second while its writer moves files (and by an agent at each heartbeat
///   and when it stops): a writer killed or frozen leaves out what it moved since its last write, about a second
///   of its work at most.
/// - Files an operator moves into or out of `done/` by hand, and files moved by a dz older than the tally, are
///   not counted: `dz status` lists a day's `done/` itself whenever the tally is below `QueueStatus.listedUpTo`,
///   so only a busy day can differ, and then by what was moved by hand.
final class DoneTally: Sendable {
    private struct Key: Hashable {
        var queue: QueueName
        var day: String
    }

    private struct State {
        var counts: [Key: Int] = [:]
        var unwritten: Set<Key> = []
        var lastWrite: Timestamp = .distantPast
        var directories: Set<Key> = []
    }

    /// This process's name among a day's writers: its host id, pid and random bits (a pid is reused after a
    /// restart, whose tally must not replace the dead process's).
    let writer: String
    private let state = Mutex(State())
    /// Held while files are written, so that a slower write never replaces a newer count with an older one.
    private let writing = Mutex(0)

    /// Seconds between writes while files are moved.
    static let writeEvery: Double = 1

    init(host: HostID, pid: Int32) {
        let token = Host.randomBytes(4).map { String($0 >> 4, radix: 16) + String($0 & 15, radix: 16) }.joined()
        writer = "\(host.rawValue).\(pid).\(token)"
    }

    /// Counts a file moved into `queue`'s `done/<day>/`; writes the tally when the last write is a second old.
    func moved(into queue: QueueName, day: String, spool: Spool, now: Timestamp = .now()) {
        let due = state.withLock { state -> Bool in
            let key = Key(queue: queue, day: day)
            state.counts[key, default: 0] += 1
            state.unwritten.insert(key)
            guard now - state.lastWrite >= DoneTally.writeEvery else { return false }
            state.lastWrite = now
            return true
        }
        if due { write(spool) }
    }

    /// Writes every count that changed since it was last written. A failure (a full disk) is left for the next
    /// write: the tally is a statistic, never a reason to fail a task.
    func write(_ spool: Spool) {
        writing.withLock { _ in
            let (changed, known) = state.withLock { state -> ([(Key, Int)], Set<Key>) in
                let changed = state.unwritten.map { ($0, state.counts[$0] ?? 0) }
                state.unwritten.removeAll()
                return (changed, state.directories)
            }
            var failed: [Key] = []
            var made: [Key] = []
            for (key, count) in changed {
                let dir = spool.tallyPath(key.queue, day: key.day)
                if !known.contains(key) {
                    guard (try? SpoolModes.makeDirectories(dir)) != nil else {
                        failed.append(key)
                        continue
                    }
                    made.append(key)
                }
                do {
                    try FileIO.replace(dir + "/" + writer, bytes: Array("\(count)\n".utf8), mode: SpoolModes.file,
                                       sync: false)
                } catch {
                    failed.append(key)
                }
            }
            state.withLock { state in
                state.directories.formUnion(made)
                state.unwritten.formUnion(failed)
                // Days gone by are written for the last time: their counts need not be kept.
                if state.counts.count > 64 {
                    let newest = state.counts.keys.map(\.day).max() ?? ""
                    for key in state.counts.keys where key.day < newest && !state.unwritten.contains(key) {
                        state.counts[key] = nil
                        state.directories.remove(key)
                    }
                }
            }
        }
    }
}

extension Spool {
    /// The directory of the tallies of `queue`'s `done/<day>/` (see `DoneTally`): beside `done/`, not in it, so
    /// that whatever lists `done/`'s days finds only days.
    public func tallyPath(_ queue: QueueName, day: String) -> String {
        root + "/" + queue.rawValue + "/tally/" + day
    }

    /// Writes this process's tallies of `done/` that changed since they were last written: an agent does at each
    /// heartbeat and when it stops, so that its last second of work is counted.
    public func writeTallies() {
        doneTally.write(self)
    }

    /// The sum of the tallies of `queue`'s `done/<day>/`, or nil when no process left one (see `DoneTally`).
    public func tallied(_ queue: QueueName, day: String) -> Int? {
        let dir = tallyPath(queue, day: day)
        guard let names = try? FileSystem.names(in: dir) else { return nil }
        var sum = 0
        var any = false
        for name in names where !name.hasPrefix(".") {
            guard case .contents(let bytes, _)? = try? FileIO.read(dir + "/" + name, limit: 32),
                  let text = String(validating: bytes.last == 0x0A ? bytes.dropLast() : bytes[...], as: UTF8.self),
                  let count = Int(text), count >= 0
            else { continue }
            any = true
            sum = sum.addingReportingOverflow(count).overflow ? Int.max : sum + count
        }
        return any ? sum : nil
    }
}
