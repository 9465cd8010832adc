import DZSystem
import Foundation

/// Group commit of directory fsyncs: one `fsync` of a directory covers every rename into it that was made before
/// the `fsync` started, so callers that renamed into one directory at about the same time share one.
///
/// A caller renames its file, then calls `sync(_:)`, which returns only once an `fsync` of that directory that
/// *started after the caller's call* has returned. If an `fsync` of the directory is already under way, it may
/// have started before the caller's rename, so it does not count: the caller waits for it to end, and the next
/// `fsync` (made by one of the waiters, the leader, for all who are waiting then) covers it. What is durable is
/// therefore exactly what it would be with one `fsync` per rename; only the number of `fsync`s drops, the more so
/// the more callers rename at once (several workers of an agent, several agents of a host, several droppers).
///
/// An `fsync` that fails fails for every caller it covered (with the error, never silently): after a failed
/// `fsync` Linux may have dropped the dirty state it could not write, so none of them may believe their rename
/// durable.
final class DirectorySync: @unchecked Sendable {
    /// Per directory: tickets are handed out in order; `covered` is the last ticket an `fsync` that has
    /// returned started after.
    private struct Entry {
        var issued: UInt64 = 0
        var covered: UInt64 = 0
        var inFlight = false
        /// Failed `fsync`s not yet seen by all they covered: the tickets after `from` up to `through`.
        var failures: [(from: UInt64, through: UInt64, unanswered: UInt64, errno: Errno)] = []
    }

    private let condition = NSCondition()
    private var entries: [String: Entry] = [:]
    /// What performs one `fsync` (a parameter so that tests can count them and make them fail).
    private let perform: @Sendable (String) throws(Errno) -> Void
    /// `fsync`s made, and the callers they covered, since the start.
    private var counts = Statistics()

    struct Statistics: Equatable {
        var fsyncs = 0
        var callers = 0
    }

    init(perform: @escaping @Sendable (String) throws(Errno) -> Void = { path throws(Errno) in
        try FileSystem.syncDirectory(path)
    }) {
        self.perform = perform
    }

    var statistics: Statistics {
        condition.lock()
        defer { condition.unlock() }
        return counts
    }

    /// Returns once every rename into `directory` made before this call is durable; throws the `fsync`'s error
    /// when the one that covered this call failed.
    func sync(_ directory: String) throws(Errno) {
        condition.lock()
        defer { condition.unlock() }
        counts.callers += 1
        entries[directory, default: Entry()].issued += 1
        let ticket = entries[directory]!.issued
        while true {
            let entry = entries[directory]!
            if entry.covered >= ticket {
                return try outcome(of: ticket, in: directory)
            }
            if entry.inFlight {
                condition.wait()
                continue
            }
            // The leader: this fsync starts after every ticket issued so far, so it covers them all.
            let through = entry.issued
            let from = entry.covered
            entries[directory]!.inFlight = true
            counts.fsyncs += 1
            condition.unlock()
            var failure: Errno?
            do { try perform(directory) } catch { failure = error }
            condition.lock()
            entries[directory]!.inFlight = false
            entries[directory]!.covered = through
            if let failure { entries[directory]!.failures.append((from, through, through - from, failure)) }
            condition.broadcast()
        }
    }

    /// The error of the failed `fsync` that covered `ticket`, if any. Each ticket asks once; a failure is
    /// forgotten once every ticket it covered has asked.
    private func outcome(of ticket: UInt64, in directory: String) throws(Errno) {
        guard var entry = entries[directory],
              let index = entry.failures.firstIndex(where: { $0.from < ticket && ticket <= $0.through })
        else { return }
        let errno = entry.failures[index].errno
        entry.failures[index].unanswered -= 1
        if entry.failures[index].unanswered == 0 { entry.failures.remove(at: index) }
        entries[directory] = entry
        throw errno
    }
}
