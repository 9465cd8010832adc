import DZSystem

/// A task as its JSON file holds it.
///
/// The minimal hand-written form is `{"task": "noop"}`; every other field has a default. Fields dz does not know
/// are kept in `extra` and written back unchanged when the file is rewritten (a retry bumps `attempt`).
public struct TaskFile: Sendable, Equatable {
    public static let maxSize = 1 << 20

    public var id: TaskID
    public var task: String
    public var args: [String: JSONValue]
    public var job: String?
    public var step: String?
    public var attempt: Int
    public var maxAttempts: Int
    public var backoffSeconds: Double
    public var timeoutSeconds: Double?
    public var notBefore: Timestamp?
    public var created: Timestamp?
    public var replyTo: QueueName
    public var extra: [String: JSONValue]

    public static let defaultMaxAttempts = 3
    public static let defaultBackoffSeconds = 5.0

    public init(
        id: TaskID, task: String, args: [String: JSONValue] = [:], job: String? = nil, step: String? = nil,
        attempt: Int = 1, maxAttempts: Int = TaskFile.defaultMaxAttempts,
        backoffSeconds: Double = TaskFile.defaultBackoffSeconds, timeoutSeconds: Double? = nil,
        notBefore: Timestamp? = nil, created: Timestamp? = nil, replyTo: QueueName = .results,
        extra: [String: JSONValue] = [:]
    ) {
        self.id = id
        self.task = task
        self.args = args
        self.job = job
        self.step = step
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.backoffSeconds = backoffSeconds
        self.timeoutSeconds = timeoutSeconds
        self.notBefore = notBefore
        self.created = created
        self.replyTo = replyTo
        self.extra = extra
    }

    static let knownKeys: Set<String> = [
        "id", "task", "args", "job", "step", "attempt", "max_attempts", "backoff_s", "timeout_s", "not_before",
        "created", "reply_to",
    ]

    /// Reads a task file's bytes; `stem` is the file name without `.json` and is the id unless the file names one.
    public init(parsing bytes: [UInt8], stem: String) throws(BadInput) {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw BadInput("encoding", "not valid UTF-8")
        }
        if text.allSatisfy(\.isWhitespace) { throw BadInput("empty", "the file is empty") }
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes)
        } catch {
            throw BadInput("json", "not valid JSON: \(error)")
        }
        guard case .object(let object) = value else {
            throw BadInput("type", "a task file must hold a JSON object, not \(value.typeName)")
        }
        try self.init(object: object, stem: stem)
    }

    /// Reads a task from a parsed JSON object.
    public init(object: [String: JSONValue], stem: String) throws(BadInput) {
        let field = FieldReader(object)
        guard let name = try field.string("task") else { throw BadInput("field", "missing field \"task\"") }
        guard !name.isEmpty, name.utf8.count <= 64,
              name.utf8.allSatisfy({ TaskID.isIDByte($0) }) else {
            throw BadInput("field", "field \"task\" must be a name of [A-Za-z0-9._-], at most 64 characters")
        }
        let idText = try field.string("id") ?? stem
        guard TaskID.isValid(idText) else {
            throw BadInput("name", "invalid task id \"\(String(idText.prefix(140)))\": use [A-Za-z0-9._-], 1 to 128 characters, not starting with a dot")
        }
        if idText != stem {
            throw BadInput("name", "field \"id\" is \"\(idText)\" but the file is named \"\(stem).json\"")
        }
        id = TaskID(unchecked: idText)
        task = name
        args = try field.object("args") ?? [:]
        job = try field.string("job")
        step = try field.string("step")
        attempt = try field.int("attempt", in: TaskLimits.attempts) ?? 1
        maxAttempts = try field.int("max_attempts", in: TaskLimits.attempts) ?? TaskFile.defaultMaxAttempts
        backoffSeconds = try field.number("backoff_s", in: TaskLimits.backoffSeconds) ?? TaskFile.defaultBackoffSeconds
        timeoutSeconds = try field.number("timeout_s", in: TaskLimits.timeoutSeconds)
        notBefore = try field.time("not_before")
        created = try field.time("created")
        if let reply = try field.string("reply_to") {
            guard QueueName.isValid(reply) else {
                throw BadInput("field", "field \"reply_to\" is not a valid queue name: \"\(String(reply.prefix(70)))\"")
            }
            replyTo = QueueName(unchecked: reply)
        } else {
            replyTo = .results
        }
        extra = object.filter { !TaskFile.knownKeys.contains($0.key) }
    }

    /// The task as a JSON object, with unknown fields kept.
    public var jsonObject: [String: JSONValue] {
        var object = extra
        object["id"] = .string(id.rawValue)
        object["task"] = .string(task)
        object["args"] = .object(args)
        if let job { object["job"] = .string(job) }
        if let step { object["step"] = .string(step) }
        object["attempt"] = .int(Int64(attempt))
        object["max_attempts"] = .int(Int64(maxAttempts))
        object["backoff_s"] = .double(backoffSeconds)
        if let timeoutSeconds { object["timeout_s"] = .double(timeoutSeconds) }
        if let notBefore { object["not_before"] = .string(notBefore.rfc3339) }
        if let created { object["created"] = .string(created.rfc3339) }
        object["reply_to"] = .string(replyTo.rawValue)
        return object
    }

    /// The file's bytes: one line of JSON and a newline.
    public func encoded() -> [UInt8] {
        JSONValue.object(jsonObject).serialized() + [0x0A]
    }

    /// When a retry after this attempt may start: `backoff_s * 2^(attempt-1)`, at most an hour.
    public func retryDelay() -> Double {
        min(3600, backoffSeconds * Double(1 << min(attempt - 1, 20)))
    }
}

/// Typed reads of a task's fields, each failing with a message that names the field.
struct FieldReader {
    let object: [String: JSONValue]
    init(_ object: [String: JSONValue]) { self.object = object }

    func present(_ key: String) -> JSONValue? {
        guard let value = object[key], value != .null else { return nil }
        return value
    }

    func wrongType(_ key: String, _ expected: String, _ value: JSONValue) -> BadInput {
        BadInput("field", "field \"\(key)\" must be \(expected), not \(value.typeName)")
    }

    func string(_ key: String) throws(BadInput) -> String? {
        guard let value = present(key) else { return nil }
        guard case .string(let text) = value else { throw wrongType(key, "a string", value) }
        return text
    }

    func object(_ key: String) throws(BadInput) -> [String: JSONValue]? {
        guard let value = present(key) else { return nil }
        guard case .object(let members) = value else { throw wrongType(key, "an object", value) }
        return members
    }

    func int(_ key: String, in range: ClosedRange<Int>) throws(BadInput) -> Int? {
        guard let value = present(key) else { return nil }
        switch value {
        case .int(let number) where number >= range.lowerBound && number <= range.upperBound: return Int(number)
        case .double(let number) where number.rounded() == number && number >= Double(range.lowerBound)
            && number <= Double(range.upperBound):
            return Int(number)
        case .int, .double:
            throw BadInput("field", "field \"\(key)\" must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        default: throw wrongType(key, "a whole number", value)
        }
    }

    func number(_ key: String, in range: ClosedRange<Double>) throws(BadInput) -> Double? {
        guard let value = present(key) else { return nil }
        let number: Double
        switch value {
        case .int(let whole): number = Double(whole)
        case .double(let fraction): number = fraction
        default: throw wrongType(key, "a number", value)
        }
        guard range.contains(number) else {
            throw BadInput("field", "field \"\(key)\" must be a number from \(TaskLimits.text(range.lowerBound)) to \(TaskLimits.text(range.upperBound))")
        }
        return number
    }

    func time(_ key: String) throws(BadInput) -> Timestamp? {
        guard let text = try string(key) else { return nil }
        guard let time = Timestamp(rfc3339: text) else {
            throw BadInput("field", "field \"\(key)\" must be an RFC 3339 time from 1970 to 2199 like 2026-11-29T10:00:00Z, not \"\(String(text.prefix(60)).debugDescription.dropFirst().dropLast())\"")
        }
        return time
    }
}
