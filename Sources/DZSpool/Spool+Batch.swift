import DZSystem

/// Drops and retirements made together by one caller (the coordinator after a batch of results or requests), with one
/// directory fsync per directory instead of one per file. Each call returns only once every file it placed is
/// durable, exactly as if each had been placed by `drop(_:into:)` or `retire(_:failure:)` in turn; only the
/// number of fsyncs drops. Files are still fsynced one by one before their rename.
extension Spool {
    /// Drops each task into its queue as `drop(_:into:)` does; the `new/` of each queue is fsynced once, after
    /// every rename into it. Returns, in order, each task's error (nil: dropped, durable): `duplicateID` for one
    /// already waiting (its `new/` is fsynced all the same), and the fsync's error for every task of a queue
    /// whose fsync failed.
    public func drop(_ tasks: [(task: TaskFile, queue: QueueName)]) -> [SpoolError?] {
        var outcomes = [SpoolError?](repeating: nil, count: tasks.count)
        var visible = [Timestamp?](repeating: nil, count: tasks.count)
        var queues: [QueueName] = []
        for (index, (task, queue)) in tasks.enumerated() {
            do {
                visible[index] = try place(task, into: queue)
            } catch {
                outcomes[index] = error
                guard case .duplicateID = error else { continue }
            }
            if !queues.contains(queue) { queues.append(queue) }
        }
        var failed: [QueueName: SpoolError] = [:]
        for queue in queues {
            do { try makeDurable(path(queue, .new)) } catch { failed[queue] = error }
        }
        for (index, (task, queue)) in tasks.enumerated() {
            guard let time = visible[index] else { continue }
            if let error = failed[queue] {
                outcomes[index] = error
            } else {
                recordDropped(task, into: queue, at: time)
            }
        }
        for queue in queues where failed[queue] == nil { wakeups?.ring(queue) }
        return outcomes
    }

    /// Moves taken files to `done/` as `retire(_:failure:)` does without a failure, with one fsync of each day
    /// directory after every rename into it. Throws the first error; the files before it are moved (and durable
    /// once an fsync of their directory has returned, which a throw after the renames does not promise).
    public func retire(_ files: [TakenFile]) throws(SpoolError) {
        try retireTogether(files.map { ($0.path, $0.fileName, $0.queue) })
    }

    /// Moves claimed requests to `done/` as `retire(_:failure:)` does without a failure, with one fsync of each
    /// day directory after every rename into it; throws as `retire(_:)` of taken files does.
    public func retire(_ claims: [Claim]) throws(SpoolError) {
        try retireTogether(claims.map { ($0.path, $0.task.id.rawValue + ".json", $0.queue) })
    }

    private func retireTogether(_ files: [(path: String, fileName: String, queue: QueueName)]) throws(SpoolError) {
        var directories: [String] = []
        for file in files {
            guard let placed = try moveAside(file.path, as: file.fileName, in: file.queue, to: .done,
                                             durable: false) else { continue }
            let directory = placed.lastIndex(of: "/").map { String(placed[..<$0]) } ?? placed
            if !directories.contains(directory) { directories.append(directory) }
        }
        for directory in directories { try makeDurable(directory) }
    }
}
