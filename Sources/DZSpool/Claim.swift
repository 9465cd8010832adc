import DZSystem

/// A task this process holds: its file lives at `path` in `cur/` under `name` while the lease is renewed.
public struct Claim: Sendable {
    public let queue: QueueName
    public let name: ClaimName
    public let task: TaskFile
    /// The claim's path in `cur/`.
    public let path: String
    public let claimed: Timestamp
    /// Values in the task's arguments that must not reach the audit log or others' eyes.
    public let secrets: [String]

    public init(queue: QueueName, name: ClaimName, task: TaskFile, path: String, claimed: Timestamp) {
        self.queue = queue
        self.name = name
        self.task = task
        self.path = path
        self.claimed = claimed
        secrets = Redaction.secrets(in: task.args)
    }

    /// The path of the result staged beside the claim before it is delivered.
    public var stagedResultPath: String {
        String(path.dropLast(name.fileName.count)) + name.stagedResultName
    }
}

/// What became of an attempt to claim a file in `new/`.
public enum ClaimOutcome: Sendable {
    /// This process holds the task now.
    case claimed(Claim)
    /// Another agent took it first, or it vanished: normal, not an error.
    case lost
    /// Not to be started before this time; the file is left (or put back) in `new/` with that mtime.
    case notDue(Timestamp)
    /// It does not parse yet but was written moments ago (a `cp` in progress): put back; try again at this time,
    /// or as soon as its size or mtime differ from `seen` (the copy went on).
    case unsettled(Timestamp, seen: FileFingerprint)
    /// Bad input, moved to `failed/` with the reason.
    case rejected(BadInput)
    /// Not a task file name (dotfiles, names not ending in `.json`): left alone.
    case ignored
}

/// Size and modification time: enough to tell that a file being copied in has changed since it was last read.
public struct FileFingerprint: Sendable, Hashable {
    public var size: Int64
    public var modified: Timestamp

    public init(size: Int64, modified: Timestamp) {
        self.size = size
        self.modified = modified
    }

    public init(_ status: FileStatus) {
        self.init(size: status.size, modified: status.modified)
    }
}
