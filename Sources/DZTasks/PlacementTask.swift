import DZJSON

/// `placement` (queue `build`): choose the appservers for an app's new instances from the hosts' heartbeats.
/// Planned by `ReleaseSteps.placement`, run by `PlacementHandler`.
public enum PlacementTask: TaskContract {
    public static let name = "placement"

    public struct Arguments: TaskMessage, Equatable {
        /// Instances to place, 1 to 32.
        public var count: Int
        /// How old a heartbeat may be, in seconds (default 30).
        public var maxAge: Double?
        /// Running instances per appserver id (from the zoomdb), to spread new ones.
        public var instances: [String: Int]
        /// Appserver ids not to use.
        public var exclude: [String]
        /// The app's database, when SQLite: only appservers that reach its file are used.
        public var database: SQLiteDatabaseLocation?
        /// The Python an already built bundle needs (`3.11`, `3.11.4`): only appservers offering it are used.
        public var python: String?
        /// The release's host names, for the coordinator's claim when the result comes in (the handler ignores
        /// them; the zoomdb checks them).
        public var hostnames: [String]?

        public init(count: Int) {
            self.count = count
            instances = [:]
            exclude = []
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            count = try read.count("count", in: 1...32) ?? 1
            maxAge = try read.number("max_age_s")
            if let maxAge, maxAge <= 0 { throw ContractViolation("max_age_s must be positive") }
            instances = [:]
            switch read.value("instances") {
            case nil: break
            case .object(let counts)?:
                for (id, value) in counts {
                    guard let number = value.intValue, number >= 0, let count = Int(exactly: number) else {
                        throw ContractViolation("instances must map appserver ids to counts")
                    }
                    instances[id] = count
                }
            case let other?: throw ContractViolation("instances must be an object, not \(other.typeName)")
            }
            exclude = []
            switch read.value("exclude") {
            case nil: break
            case .array(let items)?:
                for item in items {
                    guard let id = item.stringValue else { throw ContractViolation("exclude must list appserver ids") }
                    exclude.append(id)
                }
            case let other?: throw ContractViolation("exclude must be an array, not \(other.typeName)")
            }
            switch read.value("database") {
            case nil: database = nil
            case .object(let fields)?: database = try SQLiteDatabaseLocation(json: fields)
            case .some: throw ContractViolation("database must be an object with an engine")
            }
            python = try read.optionalString("python")
            hostnames = try read.array("hostnames")?.map { item throws(ContractViolation) in
                guard let text = item.stringValue else { throw ContractViolation("hostnames must be strings") }
                return text
            }
        }

        public var json: [String: JSONValue] {
            var object: [String: JSONValue] = ["count": .int(Int64(count))]
            if let maxAge { object["max_age_s"] = .double(maxAge) }
            if !instances.isEmpty { object["instances"] = .object(instances.mapValues { .int(Int64($0)) }) }
            if !exclude.isEmpty { object["exclude"] = .array(exclude.map { .string($0) }) }
            if let database { object["database"] = .object(database.json) }
            if let python { object["python"] = .string(python) }
            if let hostnames { object["hostnames"] = .array(hostnames.map { .string($0) }) }
            return object
        }

        public static let keys = ["count", "max_age_s", "instances", "exclude", "database", "python", "hostnames"]
    }

    public struct Output: TaskMessage, Equatable {
        /// One appserver id per instance.
        public var appservers: [String]
        /// What each healthy appserver looked like.
        public var candidates: [[String: JSONValue]]
        /// The others, and why (`appserver`, `reason`).
        public var unhealthy: [[String: JSONValue]]

        public init(appservers: [String], candidates: [[String: JSONValue]], unhealthy: [[String: JSONValue]]) {
            self.appservers = appservers
            self.candidates = candidates
            self.unhealthy = unhealthy
        }

        public init(json object: [String: JSONValue]) throws(ContractViolation) {
            let read = MessageReader(object)
            appservers = try (read.array("appservers") ?? []).map { item throws(ContractViolation) in
                guard let id = item.stringValue else { throw ContractViolation("appservers must be ids") }
                return id
            }
            candidates = (try read.array("candidates") ?? []).compactMap(\.objectValue)
            unhealthy = (try read.array("unhealthy") ?? []).compactMap(\.objectValue)
        }

        public var json: [String: JSONValue] {
            ["appservers": .array(appservers.map { .string($0) }), "candidates": .array(candidates.map { .object($0) }),
             "unhealthy": .array(unhealthy.map { .object($0) })]
        }

        public static let keys = ["appservers", "candidates", "unhealthy"]
    }
}
