import DZSystem

extension Spool {
    /// Drops `task` into `queue`: written in `tmp/`, fsynced, renamed (never replacing) into `new/<id>.json`,
    /// and the directory fsynced. The queue is created on first use.
    ///
    /// A task with a `not_before` in the future gets that time as its file's mtime, so agents wait for it
    /// without reading it. Throws `duplicateID` when a task with the same id is already waiting.
    public func drop(_ task: TaskFile, into queue: QueueName) throws(SpoolError) {
        let visible = try place(task, into: queue)
        // Visible now, durable once this returns: a failure is thrown, though the task may be claimed already.
        try makeDurable(path(queue, .new))
        wakeups?.ring(queue)
        recordDropped(task, into: queue, at: visible)
    }

    /// The drop up to the rename into `new/` (the task visible, not yet durable); returns when it became visible.
    func place(_ task: TaskFile, into queue: QueueName) throws(SpoolError) -> Timestamp {
        if task.replyTo == queue || task.replyTo == .jobs {
            throw .badTask(BadInput("field", "reply_to \(task.replyTo) would have the task's result claimed as a task"))
        }
        let bytes = task.encoded()
        guard bytes.count <= TaskFile.maxSize else {
            throw .badTask(BadInput("too-large", "the task is \(bytes.count) bytes, over the limit of \(TaskFile.maxSize)"))
        }
        try ensure(queue)
        let temporary = try writeTemporary(bytes, in: queue, hint: "task")
        if let notBefore = task.notBefore, notBefore > .now() {
            try? FileSystem.touch(temporary, modified: notBefore)
        }
        let target = path(queue, .new) + "/" + task.id.rawValue + ".json"
        let visible = Timestamp.now()
        do {
            try FileSystem.renameNoReplace(temporary, target)
        } catch .fileExists {
            try? FileSystem.unlink(temporary)
            throw .duplicateID(task.id, queue)
        } catch {
            // NFS may report a rename that happened as failed: believe the file system, not the reply.
            if !FileSystem.exists(temporary), FileSystem.exists(target) {
                // done
            } else {
                try? FileSystem.unlink(temporary)
                throw error.at("rename", target)
            }
        }
        return visible
    }

    func recordDropped(_ task: TaskFile, into queue: QueueName, at visible: Timestamp) {
        audit.record("dropped", [("queue", queue.rawValue), ("task", task.id.rawValue), ("name", task.task),
                                 ("job", task.job), ("step", task.step), ("attempt", String(task.attempt)),
                                 ("not_before", task.notBefore?.rfc3339)], at: visible)
    }
}
