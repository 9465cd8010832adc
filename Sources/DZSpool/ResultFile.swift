import DZSystem

/// What a finished task reports, written into its `reply_to` queue as `<task-id>.json`.
public struct ResultFile: Sendable, Equatable {
    public enum Status: String, Sendable {
        case ok, error
    }

    /// Why a task failed: `kind` is a stable word (`timeout`, `lease-expired`, `bad-args`, ...), `message` is for people.
    public struct Failure: Sendable, Equatable, Error {
        public var kind: String
        public var message: String

        public init(kind: String, message: String) {
            self.kind = kind
            self.message = message
        }
    }

    public var id: TaskID
    public var task: String
    public var queue: QueueName
    public var job: String?
    public var step: String?
    public var status: Status
    public var output: [String: JSONValue]
    public var error: Failure?
    public var host: HostID
    public var pid: Int32
    public var attempt: Int
    public var started: Timestamp?
    public var finished: Timestamp

    public init(
        task: TaskFile, queue: QueueName, status: Status, output: [String: JSONValue] = [:], error: Failure? = nil,
        host: HostID, pid: Int32, started: Timestamp?, finished: Timestamp
    ) {
        id = task.id
        self.task = task.task
        self.queue = queue
        job = task.job
        step = task.step
        self.status = status
        self.output = output
        self.error = error
        self.host = host
        self.pid = pid
        attempt = task.attempt
        self.started = started
        self.finished = finished
    }

    public var jsonObject: [String: JSONValue] {
        var object: [String: JSONValue] = [
            "id": .string(id.rawValue), "task": .string(task), "queue": .string(queue.rawValue),
            "status": .string(status.rawValue), "output": .object(output), "host": .string(host.rawValue),
            "pid": .int(Int64(pid)), "attempt": .int(Int64(attempt)), "finished": .string(finished.rfc3339),
            "job": job.map { .string($0) } ?? .null, "step": step.map { .string($0) } ?? .null,
            "error": error.map { .object(["kind": .string($0.kind), "message": .string($0.message)]) } ?? .null,
        ]
        if let started { object["started"] = .string(started.rfc3339) }
        return object
    }

    public func encoded() -> [UInt8] { JSONValue.object(jsonObject).serialized() + [0x0A] }

    /// Reads a result file.
    public init(parsing bytes: [UInt8]) throws(BadInput) {
        let value: JSONValue
        do { value = try JSONValue.parse(bytes) } catch {
            throw BadInput("json", "not valid JSON: \(error)")
        }
        guard case .object(let object) = value else { throw BadInput("type", "a result must be a JSON object") }
        let field = FieldReader(object)
        guard let idText = try field.string("id"), let id = try? TaskID(idText) else {
            throw BadInput("field", "result without a valid \"id\"")
        }
        guard let statusText = try field.string("status"), let status = Status(rawValue: statusText) else {
            throw BadInput("field", "result \"status\" must be \"ok\" or \"error\"")
        }
        self.id = id
        self.status = status
        task = try field.string("task") ?? ""
        queue = (try? QueueName(try field.string("queue") ?? "")) ?? .results
        job = try field.string("job")
        step = try field.string("step")
        output = try field.object("output") ?? [:]
        if let failure = try field.object("error") {
            error = Failure(kind: failure["kind"]?.stringValue ?? "error", message: failure["message"]?.stringValue ?? "")
        } else {
            error = nil
        }
        host = (try? HostID(try field.string("host") ?? "")) ?? HostID(unchecked: "unknown")
        pid = Int32(try field.int("pid", in: 0...Int(Int32.max)) ?? 0)
        attempt = try field.int("attempt", in: TaskLimits.attempts) ?? 1
        started = try field.time("started")
        finished = try field.time("finished") ?? Timestamp(nanoseconds: 0)
    }
}
