/// Told each time this process has put a file into a queue's `new/` (a drop, a result delivered, a retry or a
/// task given back): the place to ring the hosts that serve that queue (see `Wakeups`). Called after the rename
/// that made the file visible, never before; it must not block, and must not fail the operation.
public protocol WakeupSink: Sendable {
    func ring(_ queue: QueueName)
}
