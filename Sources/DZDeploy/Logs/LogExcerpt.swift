import DZSpool
import DZTasks

/// The end of one log file as `read_logs` returns it: its lines and where the next read goes on, or why it could
/// not be read.
package struct LogExcerpt: Sendable, Equatable {
    /// The file's name in its directory: `<instance>.error.log`, `<instance>.access.log`, `dz_<project>.access.log`.
    var name: String
    var lines: [String] = []
    /// The byte after the last line returned: the `since` offset of the next read.
    var offset = 0
    /// The file's size when read.
    var size = 0
    /// The file's inode when read: a next read given another one starts again at 0 (the log was rotated).
    var inode: UInt64 = 0
    /// Whether the read started again at byte 0 because the file was truncated or replaced since `since`.
    var restarted = false
    /// The bytes from where the read began (`since`, else the file's start) that no returned line holds.
    var skippedBytes = 0
    /// Why the file was not read (`missing`, `refused: ...`); nil when it was.
    var problem: String?

    init(name: String, lines: [String], offset: Int, size: Int, inode: UInt64, restarted: Bool, skippedBytes: Int) {
        self.name = name
        self.lines = lines
        self.offset = offset
        self.size = size
        self.inode = inode
        self.restarted = restarted
        self.skippedBytes = skippedBytes
    }

    package init(name: String, problem: String) {
        self.name = name
        self.problem = problem
    }

    /// The excerpt as one entry of the task's `files`, of `stream` and, for an instance's log, `instance`.
    package func file(stream: String, instance: String? = nil) -> ReadLogsTask.File {
        guard problem == nil else { return ReadLogsTask.File(name: name, stream: stream, instance: instance, error: problem) }
        return ReadLogsTask.File(name: name, stream: stream, instance: instance, lines: lines, offset: offset, size: size,
                                 inode: Int64(truncatingIfNeeded: inode), restarted: restarted,
                                 skippedBytes: skippedBytes)
    }
}
