import DZSpool
import DZSystem
import HeapModule

/// The names waiting to be claimed, FIFO by name within each queue, taken from the queues in turn.
///
/// Names come from inotify events and rescans; the same name arriving twice is kept once. A name that is not due
/// yet (future `not_before`, a copy still being written) waits aside until its time.
actor Scheduler {
    struct Item: Sendable, Hashable {
        var queue: QueueName
        var name: String
    }

    private let queues: [QueueName]
    private var heaps: [QueueName: Heap<String>] = [:]
    private var waiting: [QueueName: Set<String>] = [:]
    private var deferred: [Item: Timestamp] = [:]
    private var waiters: [CheckedContinuation<Item?, Never>] = []
    private var cursor = 0
    private(set) var closed = false

    init(queues: [QueueName]) {
        self.queues = queues
        for queue in queues {
            heaps[queue] = Heap()
            waiting[queue] = []
        }
    }

    /// Adds a name seen in a queue's `new/`.
    func add(_ queue: QueueName, _ name: String) {
        guard !closed, Spool.isTaskFileName(name) else { return }
        let item = Item(queue: queue, name: name)
        if let due = deferred[item] {
            guard due <= .now() else { return }
            deferred[item] = nil
        }
        guard waiting[queue]?.insert(name).inserted == true else { return }
        if !waiters.isEmpty {
            waiting[queue]?.remove(name)
            waiters.removeFirst().resume(returning: item)
            return
        }
        heaps[queue]?.insert(name)
    }

    /// Adds many names at once (a rescan).
    func add(_ queue: QueueName, _ names: [String]) {
        for name in names { add(queue, name) }
    }

    /// The next name to try, or `nil` once closed. Waits while there is none.
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
                return Item(queue: queue, name: name)
            }
        }
        return nil
    }

    /// Keeps `item` aside until `due`.
    func postpone(_ item: Item, until due: Timestamp) {
        guard !closed else { return }
        deferred[item] = due
    }

    /// Moves every postponed name whose time has come back into line; returns the earliest time still ahead.
    func promoteDue(now: Timestamp = .now()) -> Timestamp? {
        var earliest: Timestamp?
        for (item, due) in deferred {
            if due <= now {
                deferred[item] = nil
                add(item.queue, item.name)
            } else if earliest == nil || due < earliest! {
                earliest = due
            }
        }
        return earliest
    }

    /// Whether no name is waiting to be tried (postponed ones do not count).
    var isEmpty: Bool { heaps.values.allSatisfy(\.isEmpty) }

    /// How many names wait to be tried.
    var count: Int { heaps.values.reduce(0) { $0 + $1.count } }

    /// Stops handing out names: every waiting and later `next()` returns `nil`.
    func close() {
        closed = true
        for waiter in waiters { waiter.resume(returning: nil) }
        waiters.removeAll()
    }
}
