import DZJSON
import DZSystem

/// A job's row in the zoomdb.
public struct JobRecord: Sendable, Equatable {
    public enum State: String, Sendable, CaseIterable {
        case running, succeeded, failed, cancelled

        public var isFinal: Bool { self != .running }
    }

    /// Why a running job no longer dispatches its normal steps.
    public enum Stopping: String, Sendable {
        case failing, cancelling
    }

    public var id: String
    public var kind: String
    public var project: String?
    public var params: [String: JSONValue]
    public var state: State
    public var stopping: Stopping?
    public var issuedBy: String?
    public var issuedAt: Timestamp
    public var started: Timestamp?
    public var finished: Timestamp?
    public var error: String?
    public var result: [String: JSONValue]?

    public init(id: String, kind: String, project: String?, params: [String: JSONValue], issuedBy: String?,
                issuedAt: Timestamp)
    {
        self.id = id
        self.kind = kind
        self.project = project
        self.params = params
        state = .running
        self.issuedBy = issuedBy
        self.issuedAt = issuedAt
    }

    init(row: SQLiteRow) {
        id = row.string("id") ?? ""
        kind = row.string("kind") ?? ""
        project = row.string("project")
        params = JSONText.object(row.string("params")) ?? [:]
        state = State(rawValue: row.string("state") ?? "") ?? .failed
        stopping = row.string("stopping").flatMap(Stopping.init(rawValue:))
        issuedBy = row.string("issued_by")
        issuedAt = row.string("issued_at").flatMap { Timestamp(rfc3339: $0) } ?? Timestamp(nanoseconds: 0)
        started = row.string("started").flatMap { Timestamp(rfc3339: $0) }
        finished = row.string("finished").flatMap { Timestamp(rfc3339: $0) }
        error = row.string("error")
        result = JSONText.object(row.string("result"))
    }

    public var jsonObject: [String: JSONValue] {
        [
            "id": .string(id), "kind": .string(kind), "project": project.map { .string($0) } ?? .null,
            "params": .object(params), "state": .string(state.rawValue),
            "stopping": stopping.map { .string($0.rawValue) } ?? .null,
            "issued_by": issuedBy.map { .string($0) } ?? .null, "issued_at": .string(issuedAt.rfc3339),
            "started": started.map { .string($0.rfc3339) } ?? .null,
            "finished": finished.map { .string($0.rfc3339) } ?? .null,
            "error": error.map { .string($0) } ?? .null, "result": result.map { .object($0) } ?? .null,
        ]
    }
}

extension JobRecord {
    /// A job read back from `jsonObject` (as the coordinator publishes it); nil without an id and a kind.
    public init?(json object: [String: JSONValue]) {
        guard let id = object["id"]?.stringValue, let kind = object["kind"]?.stringValue else { return nil }
        func time(_ key: String) -> Timestamp? { object[key]?.stringValue.flatMap { Timestamp(rfc3339: $0) } }
        self.init(id: id, kind: kind, project: object["project"]?.stringValue, params: object["params"]?.objectValue ?? [:],
                  issuedBy: object["issued_by"]?.stringValue, issuedAt: time("issued_at") ?? Timestamp(nanoseconds: 0))
        state = object["state"]?.stringValue.flatMap(State.init(rawValue:)) ?? .failed
        stopping = object["stopping"]?.stringValue.flatMap(Stopping.init(rawValue:))
        started = time("started")
        finished = time("finished")
        error = object["error"]?.stringValue
        result = object["result"]?.objectValue
    }
}

/// JSON kept in text columns.
enum JSONText {
    static func object(_ text: String?) -> [String: JSONValue]? {
        guard let text, case .object(let object)? = try? JSONValue.parse(Array(text.utf8)) else { return nil }
        return object
    }

    static func encode(_ object: [String: JSONValue]) -> String { JSONValue.object(object).jsonText }
}
