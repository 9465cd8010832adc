import DZJSON
import DZSpool

/// `read_logs` (queues `appserver_<id>` and `proxy`): the end of a project's logs on one host, for `dz logs`.
/// Planned by `LogsJob`, run by `ReadLogsHandler`.
public enum ReadLogsTask: TaskContract {
    public static let name = "read_logs"
    /// The most lines a read returns.
    public static let maxLines = 1000

    /// Where a previous read stopped in one file: the byte after its last line, and the file's inode then.
    public struct Position: Sendable, Equatable {
        public var offset: Int
        public var inode: UInt64?

        public init(offset: Int, inode: UInt64? = nil) {
            self.offset = offset
            self.inode = inode
        }
    }

    public struct Arguments: TaskMessage, Equatable {
        public var project: ProjectID
        /// `instances` (an appserver's gunicorn logs, the default) or `site` (the proxy's access log of the site).
        public var source: String
        /// The instances to read; nil: every instance of the project recorded on the host.
        public var instances: [String]?
        /// 1 to `maxLines`.
        public var lines: Int
        /// File name to where a previous read stopped: only later lines come back.
        public var since: [String: Position]

        public init(project: ProjectID, source: String = "instances", instances: [String]? = nil, lines: Int = 100,
                    since: [String: Position] = [:])
        {
            self.project = project
            self.source = source
            self.instances = instances
            self.lines = lines
            self.since = since
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            project = try read.project()
            source = try read.optionalString("source") ?? "instances"
            instances = read.value("instances") == nil ? nil : try read.instanceIDs()
            lines = try read.count("lines", in: 1...ReadLogsTask.maxLines) ?? 100
            since = try Self.positions(read.value("since"))
        }

        /// `since`: at most 1,000 names, each to an offset or `{"offset": N, "inode": N}`.
        public static func positions(_ value: JSONValue?) throws(ContractViolation) -> [String: Position] {
            guard let value else { return [:] }
            guard case .object(let entries) = value, entries.count <= 1000 else {
                throw ContractViolation("argument \"since\" must be an object of at most 1000 file names to positions")
            }
            var positions: [String: Position] = [:]
            for (name, entry) in entries {
                var offset = entry.intValue
                var inode: UInt64?
                if case .object(let fields) = entry {
                    offset = fields["offset"]?.intValue
                    inode = fields["inode"]?.intValue.map { UInt64(bitPattern: $0) }
                }
                guard let offset, offset >= 0 else {
                    throw ContractViolation("since[\"\(String(name.prefix(80)))\"] must be an offset or "
                                            + "{\"offset\": N, \"inode\": N}")
                }
                positions[name] = Position(offset: Int(offset), inode: inode)
            }
            return positions
        }

        public var json: [String: JSONValue] {
            var object: [String: JSONValue] = [
                "project": .string(project.rawValue), "source": .string(source), "lines": .int(Int64(lines)),
            ]
            if let instances { object["instances"] = .array(instances.map { .string($0) }) }
            if !since.isEmpty {
                // A position without an inode as a bare offset, as readers of older versions wrote it.
                object["since"] = .object(since.mapValues { position in
                    guard let inode = position.inode else { return .int(Int64(position.offset)) }
                    return .object(["offset": .int(Int64(position.offset)), "inode": .int(Int64(bitPattern: inode))])
                })
            }
            return object
        }

        public static let keys = ["project", "source", "instances", "lines", "since"]
    }

    /// One file read: its lines and where the read stopped, or why it was not read.
    public struct File: Sendable, Equatable {
        public var name: String
        /// `error` or `access`.
        public var stream: String?
        /// The instance whose log it is (an appserver's files).
        public var instance: String?
        /// The queue whose task read it (added by the logs job's result).
        public var queue: String?
        /// Why it was not read (missing, refused); the fields below are then unset.
        public var error: String?
        public var lines: [String]
        public var offset: Int
        public var size: Int
        public var inode: Int64
        /// True when the file was truncated or replaced since `since`: the read started again at byte 0.
        public var restarted: Bool
        public var skippedBytes: Int

        public init(name: String, stream: String? = nil, instance: String? = nil, error: String? = nil,
                    lines: [String] = [], offset: Int = 0, size: Int = 0, inode: Int64 = 0, restarted: Bool = false,
                    skippedBytes: Int = 0)
        {
            self.name = name
            self.stream = stream
            self.instance = instance
            self.error = error
            self.lines = lines
            self.offset = offset
            self.size = size
            self.inode = inode
            self.restarted = restarted
            self.skippedBytes = skippedBytes
        }

        /// A file object of a result; nil without a name.
        init?(json value: JSONValue) {
            guard case .object(let object) = value, let name = object["name"]?.stringValue else { return nil }
            self.init(name: name, stream: object["stream"]?.stringValue, instance: object["instance"]?.stringValue,
                      error: object["error"]?.stringValue,
                      lines: (object["lines"]?.arrayValue ?? []).compactMap(\.stringValue),
                      offset: object["offset"]?.intValue.map(Int.init) ?? 0,
                      size: object["size"]?.intValue.map(Int.init) ?? 0, inode: object["inode"]?.intValue ?? 0,
                      restarted: object["restarted"] == .bool(true),
                      skippedBytes: object["skipped_bytes"]?.intValue.map(Int.init) ?? 0)
            queue = object["queue"]?.stringValue
        }

        public var json: JSONValue {
            var object: [String: JSONValue] = ["name": .string(name)]
            if let stream { object["stream"] = .string(stream) }
            if let instance { object["instance"] = .string(instance) }
            if let queue { object["queue"] = .string(queue) }
            if let error {
                object["error"] = .string(error)
                return .object(object)
            }
            object["lines"] = .array(lines.map { .string($0) })
            object["offset"] = .int(Int64(offset))
            object["size"] = .int(Int64(size))
            object["inode"] = .int(inode)
            object["restarted"] = .bool(restarted)
            object["skipped_bytes"] = .int(Int64(skippedBytes))
            return .object(object)
        }
    }

    public struct Output: TaskMessage, Equatable {
        public var source: String
        /// The queue whose task read the files.
        public var queue: String
        public var files: [File]
        /// Instances asked for that the host does not have.
        public var missing: [String]

        public init(source: String, queue: String, files: [File], missing: [String]) {
            self.source = source
            self.queue = queue
            self.files = files
            self.missing = missing
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            source = try read.optionalString("source") ?? "instances"
            queue = try read.string("queue")
            files = (try read.array("files") ?? []).compactMap(File.init(json:))
            missing = (try read.array("missing") ?? []).compactMap(\.stringValue)
        }

        public var json: [String: JSONValue] {
            ["source": .string(source), "queue": .string(queue), "files": .array(files.map(\.json)),
             "missing": .array(missing.map { .string($0) })]
        }

        public static let keys = ["source", "queue", "files", "missing"]
    }
}
