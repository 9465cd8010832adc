/// A queue's name, which is also its directory under the spool: `[a-z0-9][a-z0-9_.-]*`, at most 64 characters.
public struct QueueName: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    public let rawValue: String

    /// The queues `dz init` creates.
    public static let standard: [QueueName] = [.build, .database, .proxy, .allAppservers, .results, .jobs]

    /// Checkouts, inspections, builds and the steps that plan or choose (placement, health checks, retiring).
    public static let build = QueueName(unchecked: "build")

    /// The database server's queue: databases and their users made, dropped, backed up.
    public static let database = QueueName(unchecked: "database")

    /// The proxy's queue: nginx sites, certificates, the proxy's logs.
    public static let proxy = QueueName(unchecked: "proxy")

    /// The queue every appserver serves beside its own `appserver_<id>`.
    public static let allAppservers = QueueName(unchecked: "all_appservers")

    /// The reply queue of the tasks `dz certs` sends to the proxy without a job (see `ProxyTaskRequest`).
    public static let certs = QueueName(unchecked: "certs")

    /// The queue results go to unless a task names another.
    public static let results = QueueName(unchecked: "results")

    /// Directory names under the spool root that are not queues.
    static let reserved: Set<String> = ["log", "hosts", "cancel", "state", "zoomdb", "zoomdb.moved", "tmp", "new", "cur",
                                        "done", "failed"]

    /// The queue only the agent with host id `host` serves (`host_<host id in lower case>`): for a step that must
    /// run where an earlier one did (an upload of the bundle that host built). Every agent serves its own.
    public static func host(_ host: HostID) -> QueueName {
        // A host id may be 64 characters: keep the queue name within its own limit of 64.
        QueueName(unchecked: "host_" + host.rawValue.lowercased().prefix(59))
    }

    /// The coordinator's inbox: job submissions and cancellations.
    public static let jobs = QueueName(unchecked: "jobs")

    /// Why a task may not go to `queue` with its result to `replyTo`, or nil: `results` and `jobs` are the
    /// coordinator's inboxes (a task there would be read as a result or a job request; `dz job submit` writes the
    /// latter), and a result sent to the task's own queue, or to `jobs`, would be claimed and run as a task.
    public static func problemAsTaskQueue(_ queue: String, replyTo: String?) -> String? {
        if queue == results.rawValue || queue == jobs.rawValue {
            return "the \(queue) queue is the coordinator's inbox, not a task queue"
            + (queue == jobs.rawValue ? " (use `dz job submit`)" : "")
        }
        if let replyTo, replyTo == queue {
            return "the result cannot go to the task's own queue \(queue): it would be claimed and run as a task"
        }
        if replyTo == jobs.rawValue { return "results cannot go to the jobs queue: they would be read as job requests" }
        return nil
    }

    public init(_ text: String) throws(SpoolError) {
        guard QueueName.isValid(text) else { throw .invalidQueueName(text) }
        rawValue = text
    }

    init(unchecked text: String) { rawValue = text }

    public static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...64).contains(bytes.count), !reserved.contains(text) else { return false }
        func lowerOrDigit(_ b: UInt8) -> Bool { (97...122).contains(b) || (48...57).contains(b) }
        guard lowerOrDigit(bytes[0]) else { return false }
        return bytes.allSatisfy { lowerOrDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    public var description: String { rawValue }
    public static func < (a: QueueName, b: QueueName) -> Bool { a.rawValue < b.rawValue }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        try self.init(text)
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
