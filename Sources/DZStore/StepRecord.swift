import DZJSON
import DZSystem

/// One step instance of a job: one task on one queue.
public struct StepRecord: Sendable, Equatable {
    public enum State: String, Sendable, CaseIterable {
        /// Recorded, its task not yet known to be in the spool (a crash here is repaired at restart).
        case dispatching
        /// Its task is in the spool; no final result yet.
        case dispatched
        case succeeded
        case failed
        /// Withdrawn before it ran (job cancelled or failing).
        case cancelled

        public var isFinal: Bool { self == .succeeded || self == .failed || self == .cancelled }
    }

    public var job: String
    /// The instance name: the definition's name, or `name.N` for a fanned-out instance.
    public var name: String
    /// The step definition it came from.
    public var definition: String
    public var ordinal: Int
    public var queue: String
    public var task: String
    public var taskID: String
    /// The task file as dropped (arguments included, so a restart can drop it again): the zoomdb is 0600.
    public var taskFile: String
    public var state: State
    public var compensation: Bool
    public var attempt: Int?
    public var maxAttempts: Int
    public var host: String?
    public var dispatched: Timestamp?
    public var started: Timestamp?
    public var finished: Timestamp?
    public var deadline: Timestamp?
    public var output: [String: JSONValue]?
    public var errorKind: String?
    public var error: String?

    /// The task name of the marker row that records a fan-out over no items: a step that had nothing to do and
    /// sent no task (no instance to stop, `drop_database` without `drop_data`).
    public static let noTask = "-"

    /// Whether this is such a marker: recorded as succeeded so that the steps after it may run, but shown as
    /// `skipped`, since nothing ran.
    public var isSkipped: Bool { task == Self.noTask }

    /// The state as shown to a user: `skipped` for a step that sent no task, else the state's own name.
    public var shownState: String { isSkipped && state == .succeeded ? "skipped" : state.rawValue }

    public init(job: String, name: String, definition: String, ordinal: Int, queue: String, task: String,
                taskID: String, taskFile: String, compensation: Bool, maxAttempts: Int, deadline: Timestamp?)
    {
        self.taskFile = taskFile
        self.job = job
        self.name = name
        self.definition = definition
        self.ordinal = ordinal
        self.queue = queue
        self.task = task
        self.taskID = taskID
        state = .dispatching
        self.compensation = compensation
        self.maxAttempts = maxAttempts
        self.deadline = deadline
    }

    init(row: SQLiteRow) {
        job = row.string("job") ?? ""
        name = row.string("name") ?? ""
        definition = row.string("definition") ?? ""
        ordinal = Int(row.int("ordinal") ?? 0)
        queue = row.string("queue") ?? ""
        task = row.string("task") ?? ""
        taskID = row.string("task_id") ?? ""
        taskFile = row.string("task_file") ?? "{}"
        state = State(rawValue: row.string("state") ?? "") ?? .failed
        compensation = row.int("compensation") == 1
        attempt = row.int("attempt").map(Int.init)
        maxAttempts = Int(row.int("max_attempts") ?? 1)
        host = row.string("host")
        dispatched = row.string("dispatched").flatMap { Timestamp(rfc3339: $0) }
        started = row.string("started").flatMap { Timestamp(rfc3339: $0) }
        finished = row.string("finished").flatMap { Timestamp(rfc3339: $0) }
        deadline = row.string("deadline").flatMap { Timestamp(rfc3339: $0) }
        output = JSONText.object(row.string("output"))
        errorKind = row.string("error_kind")
        error = row.string("error")
    }

    public var jsonObject: [String: JSONValue] {
        func time(_ value: Timestamp?) -> JSONValue { value.map { .string($0.rfc3339) } ?? .null }
        return [
            "name": .string(name), "definition": .string(definition), "queue": .string(queue), "task": .string(task),
            "task_id": .string(taskID), "state": .string(state.rawValue), "compensation": .bool(compensation),
            "attempt": attempt.map { .int(Int64($0)) } ?? .null, "max_attempts": .int(Int64(maxAttempts)),
            "host": host.map { .string($0) } ?? .null, "dispatched": time(dispatched), "started": time(started),
            "finished": time(finished), "deadline": time(deadline), "output": output.map { .object($0) } ?? .null,
            "error_kind": errorKind.map { .string($0) } ?? .null, "error": error.map { .string($0) } ?? .null,
        ]
    }
}

extension StepRecord {
    /// A step read back from `jsonObject` (as the coordinator publishes it, without its task file, which holds the
    /// task's arguments); nil without a name.
    public init?(json object: [String: JSONValue], job: String, ordinal: Int) {
        guard let name = object["name"]?.stringValue else { return nil }
        func time(_ key: String) -> Timestamp? { object[key]?.stringValue.flatMap { Timestamp(rfc3339: $0) } }
        self.init(job: job, name: name, definition: object["definition"]?.stringValue ?? name, ordinal: ordinal,
                  queue: object["queue"]?.stringValue ?? "", task: object["task"]?.stringValue ?? "",
                  taskID: object["task_id"]?.stringValue ?? "", taskFile: "{}",
                  compensation: object["compensation"] == .bool(true),
                  maxAttempts: Int(object["max_attempts"]?.intValue ?? 1), deadline: time("deadline"))
        state = object["state"]?.stringValue.flatMap(State.init(rawValue:)) ?? .failed
        attempt = object["attempt"]?.intValue.map(Int.init)
        host = object["host"]?.stringValue
        dispatched = time("dispatched")
        started = time("started")
        finished = time("finished")
        output = object["output"]?.objectValue
        errorKind = object["error_kind"]?.stringValue
        error = object["error"]?.stringValue
    }
}

/// A line of a job's log.
public struct JobLogLine: Sendable, Equatable {
    public enum Level: String, Sendable {
        case info, warn, error
        case stepBegin = "step-begin"
        case stepEnd = "step-end"
    }

    public var id: Int64
    public var time: Timestamp
    public var level: Level
    public var message: String
}

extension JobLogLine {
    public var jsonObject: [String: JSONValue] {
        ["id": .int(id), "ts": .string(time.rfc3339), "level": .string(level.rawValue), "message": .string(message)]
    }

    /// A line read back from `jsonObject`.
    public init?(json object: [String: JSONValue]) {
        guard let message = object["message"]?.stringValue else { return nil }
        self.init(id: object["id"]?.intValue ?? 0,
                  time: object["ts"]?.stringValue.flatMap { Timestamp(rfc3339: $0) } ?? Timestamp(nanoseconds: 0),
                  level: object["level"]?.stringValue.flatMap(Level.init(rawValue:)) ?? .info, message: message)
    }
}
