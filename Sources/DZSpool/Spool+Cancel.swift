import DZSystem

extension Spool {
    /// Where cancellation tombstones live: `<spool>/cancel/<job-or-task-id>`.
    public var cancelPath: String { root + "/cancel" }

    /// Records, durably, that the job or task `id` is cancelled: agents do not start its tasks, and stop the ones
    /// running (compensation tasks excepted).
    public func cancel(_ id: String, reason: String, isJob: Bool) throws(SpoolError) {
        guard TaskID.isValid(id) else { throw .invalidTaskID(id) }
        do { try SpoolModes.makeDirectories(cancelPath) } catch { throw error.at("mkdir", cancelPath) }
        let target = cancelPath + "/" + id
        let temporary = cancelPath + "/." + id + "." + String(pid) + ".tmp"
        let line = "ts=\(Timestamp.now().rfc3339) host=\(host.rawValue) pid=\(pid) reason=\(Logfmt.quote(reason))\n"
        try? FileSystem.unlink(temporary)
        do {
            try SpoolModes.createFile(temporary, bytes: Array(line.utf8), sync: sync)
            try FileSystem.rename(temporary, target)
        } catch {
            throw error.at("write", target)
        }
        syncDirectory(cancelPath)
        audit.record("cancel-requested", [(isJob ? "job" : "task", id), ("reason", reason)])
    }

    /// Whether a tombstone names the task's job or the task itself. Compensation tasks are never cancelled.
    public func isCancelled(_ task: TaskFile) -> Bool {
        if task.isCompensation { return false }
        if let job = task.job, TaskID.isValid(job), FileSystem.exists(cancelPath + "/" + job) { return true }
        return FileSystem.exists(cancelPath + "/" + task.id.rawValue)
    }
}

extension TaskFile {
    /// A compensation task (undoing part of a failed or cancelled job) runs even when its job is cancelled.
    public var isCompensation: Bool { extra["compensation"] == .bool(true) }
}
