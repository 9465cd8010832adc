import DZSpool
import DZSystem
import HeapModule

/// The names waiting to be claimed, FIFO by name within each queue, taken from the queues in turn.
///
/// Names come from inotify events and rescans; the same name arriving twice is kept once. A name handed to a worker
/// is not handed to another until that worker is done with it: if it shows up again meanwhile (a rescan, a retry
/// put back into `new/`), it is lined up again then. A name that is not due yet (future `not_before`, a copy still
/// being written) waits aside until its time.
actor Scheduler {
    struct Item: Sendable, Hashable {
        var queue: QueueName
        var name: String
    }

    private let queues: [QueueName]
    /// Reads a waiting file's size and mtime, to retry a half-copied file as soon as the copy moves on.
    private let fingerprint: @Sendable (Item) -> FileFingerprint?
    private var heaps: [QueueName: Heap<String>] = [:]
    private var waiting: [QueueName: Set<String>] = [:]
    private var deferred: [Item: (due: Timestamp, seen: FileFingerprint?)] = [:]
    /// Names a worker is trying now, and whether they showed up again meanwhile.
    private var inFlight: [Item: Bool] = [:]
    private var waiters: [CheckedContinuation<Item?, Never>] = []
    private var cursor = 0
    private(set) var closed = false
    /// The queues this agent listens to for its host (`TurnWatcher`); all of them when it takes no turns.
    private var listening: Set<QueueName>
    /// The names of each queue this agent does not listen to, as its last rescan found them.
    private var rescanned: [QueueName: Set<String>] = [:]

    /// With `takingTurns`, the agent listens to no queue until it takes its turn (`listen`).
    init(queues: [QueueName], takingTurns: Bool = false,
         fingerprint: @escaping @Sendable (Item) -> FileFingerprint? = { _ in nil })
    {
        self.queues = queues
        self.fingerprint = fingerprint
        listening = takingTurns ? [] : Set(queues)
        for queue in queues {
            heaps[queue] = Heap()
            waiting[queue] = []
        }
    }

    /// This agent took its host's turn on `queue` (true: the caller lists it next) or gave it to another agent of
    /// the host (false): the names of `queue` still in line are dropped, as the new holder lists the queue and
    /// claims them; trying them too would only lose the race for each, and take its order from the holder.
    func listen(_ queue: QueueName, _ on: Bool) {
        if on {
            listening.insert(queue)
            rescanned[queue] = nil
        } else {
            listening.remove(queue)
            heaps[queue] = Heap()
            waiting[queue] = []
        }
    }

    /// Adds what a rescan of `queue` listed. On a queue another agent of the host listens to, only names the
    /// previous rescan found too are lined up: those the holder left for a whole rescan interval (it is stopped,
    /// busy, or the files came from another host, which its watch does not see). The rest is the holder's.
    func addRescanned(_ queue: QueueName, _ names: [String]) {
        guard !listening.contains(queue) else { return add(queue, names) }
        let now = Set(names)
        let before = rescanned[queue] ?? []
        rescanned[queue] = now
        add(queue, names.filter { before.contains($0) })
    }

    /// Adds a name seen in a queue's `new/`.
    func add(_ queue: QueueName, _ name: String) {
        guard line(queue, name) else { return }
        handOut()
    }

    /// Adds many names at once (a listing, a batch of inotify events), in any order: all are lined up before a
    /// waiting worker gets one, so that it gets the first by name, not the first listed.
    func add(_ queue: QueueName, _ names: [String]) {
        var any = false
        for name in names where line(queue, name) { any = true }
        if any { handOut() }
    }

    /// Gives waiting workers the first names in line.
    private func handOut() {
        while !waiters.isEmpty, let item = pop() {
            waiters.removeFirst().resume(returning: item)
        }
    }

    /// Puts a name in line; false if it was not (not a task file, postponed, in hand, already waiting).
    private func line(_ queue: QueueName, _ name: String) -> Bool {
        guard !closed, Spool.isTaskFileName(name) else { return false }
        let item = Item(queue: queue, name: name)
        if let entry = deferred[item] {
            // A postponed name comes back early only if it is a copy in progress that has changed since it was
            // read (our own put-back of it changes nothing, so it does not loop).
            let changed = entry.seen.map { fingerprint(item) != $0 } ?? false
            guard entry.due <= .now() || changed else { return false }
            deferred[item] = nil
        }
        if inFlight[item] != nil {
            inFlight[item] = true
            return false
        }
        guard waiting[queue]?.insert(name).inserted == true else { return false }
        heaps[queue]?.insert(name)
        return true
    }

    /// The next name to try, or `nil` once closed. Waits while there is none. The worker calls `finished` when it
    /// is done with it.
    func next() async -> Item? {
        if closed { return nil }
        if let item = pop() { return item }
        return await withCheckedContinuation { waiters.append($0) }
    }

    private func pop() -> Item? {
        for offset in 0..<queues.count {
            let queue = queues[(cursor + offset) % queues.count]
            if let name = heaps[queue]?.popMin() {
                waiting[queue]?.remove(name)
                cursor = (cursor + offset + 1) % queues.count
                let item = Item(queue: queue, name: name)
                inFlight[item] = false
                return item
            }
        }
        return nil
    }

    /// A worker is done with `item`: lined up again if it showed up meanwhile.
    func finished(_ item: Item) {
        guard let again = inFlight.removeValue(forKey: item) else { return }
        if again { add(item.queue, item.name) }
    }

    /// Keeps `item` aside until `due`; with `seen`, also until its size or mtime differ from it.
    func postpone(_ item: Item, until due: Timestamp, unlessChangedFrom seen: FileFingerprint? = nil) {
        guard !closed else { return }
        deferred[item] = (due, seen)
    }

    /// Moves every postponed name whose time has come back into line; returns the earliest time still ahead.
    func promoteDue(now: Timestamp = .now()) -> Timestamp? {
        var earliest: Timestamp?
        for (item, entry) in deferred {
            let due = entry.due
            if due <= now {
                deferred[item] = nil
                add(item.queue, item.name)
            } else if earliest == nil || due < earliest! {
                earliest = due
            }
        }
        return earliest
    }

    /// The names put aside because they did not parse yet and were modified less than `--settle` ago (a copy may
    /// still be under way), with the time each is tried again: what `--drain` leaves behind says so.
    var unsettled: [(item: Item, due: Timestamp)] {
        deferred.filter { $0.value.seen != nil }.map { ($0.key, $0.value.due) }
            .sorted { ($0.item.queue.rawValue, $0.item.name) < ($1.item.queue.rawValue, $1.item.name) }
    }

    /// Whether no name is waiting to be tried (postponed ones do not count).
    var isEmpty: Bool { heaps.values.allSatisfy(\.isEmpty) }

    /// How many workers wait for a name.
    var waiterCount: Int { waiters.count }

    /// How many names wait to be tried.
    var count: Int { heaps.values.reduce(0) { $0 + $1.count } }

    /// Stops handing out names: every waiting and later `next()` returns `nil`.
    func close() {
        closed = true
        for waiter in waiters { waiter.resume(returning: nil) }
        waiters.removeAll()
    }
}
